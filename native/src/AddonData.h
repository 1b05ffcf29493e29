// Per-environment data of the addon (constructor references), safe with worker threads.
#pragma once
#include <napi.h>

namespace earshot {

struct AddonData {
    Napi::FunctionReference modelConstructor;
    Napi::FunctionReference stateConstructor;
    Napi::FunctionReference parakeetModelConstructor;
    Napi::FunctionReference parakeetStateConstructor;
};

inline AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace earshot

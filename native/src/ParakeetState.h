// JS class ParakeetState: a parakeet_state as a JobState (JobState.h). A job takes only its threads and runs as a
// ParakeetJob; parakeet_full takes its threads once, so setThreads applies from the state's next job on.
#pragma once
#include <napi.h>

#include <functional>
#include <vector>

#include "JobState.h"
#include "ParakeetJob.h"
#include "ParakeetModel.h"

namespace earshot {

struct ParakeetStateEngine {
    using Handle = ParakeetHandlePtr;
    using NativeState = parakeet_state;
    using Job = ParakeetJob;
    static constexpr const char* kClassName = "ParakeetState";

    static Napi::FunctionReference& constructor(AddonData& data) { return data.parakeetStateConstructor; }
    static void freeState(parakeet_state* state) { parakeet_free_state(state); }
    static void setThreads(parakeet_state*, int) {}
    // transcribe(pcm, {threads}, onProgress?)
    static Napi::Promise start(const Napi::CallbackInfo& info, const ParakeetHandlePtr& model, parakeet_state* state, std::vector<float> pcm,
                               int threadsOverride, std::function<void()> onDone, ParakeetJob** handleOut);
};

using ParakeetState = JobState<ParakeetStateEngine>;

}  // namespace earshot

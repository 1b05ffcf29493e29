#include "WhisperState.h"

#include <utility>

#include "TranscribeParams.h"

namespace earshot {

Napi::Promise WhisperStateEngine::start(const Napi::CallbackInfo& info, const ModelHandlePtr& model, whisper_state* state, std::vector<float> pcm,
                                        int /*threadsOverride*/, std::function<void()> onDone, TranscribeJob** handleOut) {
    Napi::Env env = info.Env();
    TranscribeParams params = parseTranscribeParams(info[1].As<Napi::Object>());
    whisper_state_set_n_threads(state, 0);  // a job starts on its own n_threads
    return TranscribeJob::start(
        env, model, state, std::move(pcm), std::move(params),
        info.Length() > 2 ? info[2] : env.Undefined(),
        info.Length() > 3 ? info[3] : env.Undefined(),
        info.Length() > 4 ? info[4] : env.Undefined(),
        std::move(onDone), handleOut);
}

}  // namespace earshot

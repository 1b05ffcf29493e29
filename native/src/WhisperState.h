// JS class WhisperState: a whisper_state as a JobState (JobState.h). A job reads its options as TranscribeParams
// and runs as a TranscribeJob; setThreads reaches the running whisper_full at its next encoder or decoder pass
// (native/patches/whisper-state-threads.patch).
#pragma once
#include <napi.h>

#include <functional>
#include <vector>

#include "JobState.h"
#include "ModelHandle.h"
#include "TranscribeJob.h"

namespace earshot {

struct WhisperStateEngine {
    using Handle = ModelHandlePtr;
    using NativeState = whisper_state;
    using Job = TranscribeJob;
    static constexpr const char* kClassName = "WhisperState";

    static Napi::FunctionReference& constructor(AddonData& data) { return data.stateConstructor; }
    static void freeState(whisper_state* state) { whisper_free_state(state); }
    static void setThreads(whisper_state* state, int n) { whisper_state_set_n_threads(state, n); }
    // transcribe(pcm, options, onSegments?, onProgress?, onLanguage?)
    static Napi::Promise start(const Napi::CallbackInfo& info, const ModelHandlePtr& model, whisper_state* state, std::vector<float> pcm,
                               int threadsOverride, std::function<void()> onDone, TranscribeJob** handleOut);
};

using WhisperState = JobState<WhisperStateEngine>;

}  // namespace earshot

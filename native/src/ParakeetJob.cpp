#include "ParakeetJob.h"

#include <chrono>
#include <memory>
#include <utility>

#include "NativeLog.h"

namespace earshot {


namespace {

Napi::Object tokenToJs(Napi::Env env, const ParakeetTokenRecord& t) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", t.id);
    o.Set("piece", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(t.piece.data()), t.piece.size()));
    o.Set("p", t.p);
    o.Set("plog", t.plog);
    o.Set("t0", static_cast<double>(t.t0));
    o.Set("t1", static_cast<double>(t.t1));
    o.Set("frameIndex", t.frameIndex);
    o.Set("duration", t.duration);
    o.Set("wordStart", t.wordStart);
    return o;
}


}  // namespace

Napi::Promise ParakeetJob::start(Napi::Env env, ParakeetHandlePtr model, parakeet_state* state, std::vector<float> pcm, int threads,
                                 Napi::Value onProgress, std::function<void()> onDone, ParakeetJob** handleOut) {
    auto* job = new ParakeetJob();
    job->model_ = std::move(model);
    job->state_ = state;
    job->pcm_ = std::move(pcm);
    job->threads_ = threads;
    if (onProgress.IsFunction()) job->onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
    job->reportProgress_ = !job->onProgress_.IsEmpty();
    return job->launch(env, "earshot.parakeet", std::move(onDone), handleOut);
}

void ParakeetJob::parakeetProgress(parakeet_context*, parakeet_state*, int progress, void* user) {
    auto* job = static_cast<ParakeetJob*>(user);
    job->post(new ParakeetJobEvent{ParakeetJobEvent::Kind::Progress, progress, nullptr});
}

bool ParakeetJob::parakeetEncoderBegin(parakeet_context*, parakeet_state*, void* user) {
    return !static_cast<ParakeetJob*>(user)->aborted_.load();
}

bool ParakeetJob::parakeetAbort(void* user) { return static_cast<ParakeetJob*>(user)->aborted_.load(); }

void ParakeetJob::run() {
    auto outcome = std::make_unique<ParakeetOutcome>();
    parakeet_context* ctx = model_->ctx;
    clearLastNativeError();

    parakeet_full_params fp = parakeet_full_default_params(PARAKEET_SAMPLING_GREEDY);
    fp.n_threads = threads_;
    fp.no_context = true;  // every job starts from a blank prediction network, as parakeet-cli does
    if (reportProgress_) {
        fp.progress_callback = &ParakeetJob::parakeetProgress;
        fp.progress_callback_user_data = this;
    }
    fp.encoder_begin_callback = &ParakeetJob::parakeetEncoderBegin;
    fp.encoder_begin_callback_user_data = this;
    fp.abort_callback = &ParakeetJob::parakeetAbort;
    fp.abort_callback_user_data = this;

    const auto started = std::chrono::steady_clock::now();
    const int rc = aborted_.load() ? -1 : parakeet_full_with_state(ctx, state_, fp, pcm_.data(), static_cast<int>(pcm_.size()));
    outcome->decodeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    outcome->aborted = aborted_.load();
    if (!outcome->aborted) {
        if (rc != 0) {
            outcome->errorCode = "TRANSCRIPTION_FAILED";
            const std::string detail = lastNativeError();
            outcome->errorMessage = "parakeet_full failed with status " + std::to_string(rc) + (detail.empty() ? "" : ": " + detail);
        } else {
            // parakeet_full returns the whole input as one segment; segmenting is the engine's (src/engine/parakeetSegments.ts).
            const int nSegments = parakeet_full_n_segments_from_state(state_);
            for (int s = 0; s < nSegments; ++s) {
                outcome->text += parakeet_full_get_segment_text_from_state(state_, s);
                const int nTokens = parakeet_full_n_tokens_from_state(state_, s);
                for (int i = 0; i < nTokens; ++i) {
                    const parakeet_token_data d = parakeet_full_get_token_data_from_state(state_, s, i);
                    ParakeetTokenRecord t;
                    t.id = d.id;
                    const char* piece = parakeet_token_to_str(ctx, d.id);
                    t.piece = piece != nullptr ? piece : "";
                    t.p = d.p;
                    t.plog = d.plog;
                    t.t0 = d.t0;
                    t.t1 = d.t1;
                    t.frameIndex = d.frame_index;
                    t.duration = d.duration_value;
                    t.wordStart = d.is_word_start;
                    outcome->tokens.push_back(std::move(t));
                }
            }
        }
    }

    pcm_.clear();
    pcm_.shrink_to_fit();
    finish(new ParakeetJobEvent{ParakeetJobEvent::Kind::Done, 0, std::move(outcome)});
}

void ParakeetJob::handle(Napi::Env env, const ParakeetJobEvent& event) {
    if (event.kind == ParakeetJobEvent::Kind::Progress) {
        if (!onProgress_.IsEmpty()) onProgress_.Call({Napi::Number::New(env, event.progress)});
        return;
    }
    const ParakeetOutcome& o = *event.outcome;
    if (o.aborted) {
        reject(env, "ABORTED", "the transcription was aborted");
    } else if (!o.errorCode.empty()) {
        reject(env, o.errorCode, o.errorMessage);
    } else {
        Napi::Object result = Napi::Object::New(env);
        Napi::Array tokens = Napi::Array::New(env, o.tokens.size());
        for (size_t i = 0; i < o.tokens.size(); ++i) tokens.Set(static_cast<uint32_t>(i), tokenToJs(env, o.tokens[i]));
        result.Set("tokens", tokens);
        result.Set("text", o.text);
        Napi::Object timings = Napi::Object::New(env);
        timings.Set("decodeMs", o.decodeMs);
        result.Set("timings", timings);
        resolve(result);
    }
}

}  // namespace earshot

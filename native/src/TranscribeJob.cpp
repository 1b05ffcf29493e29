#include "TranscribeJob.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "NativeLog.h"

namespace earshot {


namespace {

double msSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Napi::Object tokenToJs(Napi::Env env, const TokenRecord& t) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", t.id);
    o.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(t.bytes.data()), t.bytes.size()));
    o.Set("p", t.p);
    o.Set("plog", t.plog);
    o.Set("pt", t.pt);
    o.Set("ptsum", t.ptsum);
    o.Set("t0", static_cast<double>(t.t0));
    o.Set("t1", static_cast<double>(t.t1));
    o.Set("tDtw", static_cast<double>(t.tDtw));
    return o;
}

Napi::Object segmentToJs(Napi::Env env, const SegmentRecord& s) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("t0", static_cast<double>(s.t0));
    o.Set("t1", static_cast<double>(s.t1));
    o.Set("text", s.text);
    o.Set("noSpeechProb", s.noSpeechProb);
    o.Set("temperature", s.temperature);
    o.Set("speakerTurnNext", s.speakerTurnNext);
    Napi::Array tokens = Napi::Array::New(env, s.tokens.size());
    for (size_t i = 0; i < s.tokens.size(); ++i) tokens.Set(static_cast<uint32_t>(i), tokenToJs(env, s.tokens[i]));
    o.Set("tokens", tokens);
    return o;
}

Napi::Array segmentsToJs(Napi::Env env, const std::vector<SegmentRecord>& segments) {
    Napi::Array out = Napi::Array::New(env, segments.size());
    for (size_t i = 0; i < segments.size(); ++i) out.Set(static_cast<uint32_t>(i), segmentToJs(env, segments[i]));
    return out;
}


}  // namespace

Napi::Promise TranscribeJob::start(Napi::Env env, ModelHandlePtr model, whisper_state* state, std::vector<float> pcm,
                                   TranscribeParams params, Napi::Value onSegments, Napi::Value onProgress,
                                   Napi::Value onLanguage, std::function<void()> onDone, TranscribeJob** handleOut) {
    auto* job = new TranscribeJob();
    job->model_ = std::move(model);
    job->state_ = state;
    job->pcm_ = std::move(pcm);
    job->params_ = std::move(params);
    if (onSegments.IsFunction()) job->onSegments_ = Napi::Persistent(onSegments.As<Napi::Function>());
    if (onProgress.IsFunction()) job->onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
    if (onLanguage.IsFunction()) job->onLanguage_ = Napi::Persistent(onLanguage.As<Napi::Function>());
    job->streamSegments_ = !job->onSegments_.IsEmpty();
    job->reportProgress_ = !job->onProgress_.IsEmpty();
    job->reportLanguage_ = !job->onLanguage_.IsEmpty();
    return job->launch(env, "earshot.transcribe", std::move(onDone), handleOut);
}

float TranscribeJob::currentTemperature() const {
    if (params_.temperatureIncrement <= 0.0f) return params_.temperature;
    return std::min(1.0f, params_.temperature + std::max(0, attempt_) * params_.temperatureIncrement);
}

SegmentRecord TranscribeJob::readSegment(int index) const {
    whisper_context* ctx = model_->ctx;
    SegmentRecord s;
    s.t0 = whisper_full_get_segment_t0_from_state(state_, index);
    s.t1 = whisper_full_get_segment_t1_from_state(state_, index);
    s.text = whisper_full_get_segment_text_from_state(state_, index);
    s.noSpeechProb = whisper_full_get_segment_no_speech_prob_from_state(state_, index);
    s.speakerTurnNext = whisper_full_get_segment_speaker_turn_next_from_state(state_, index);
    s.temperature = index < static_cast<int>(segmentTemperatures_.size()) ? segmentTemperatures_[index] : currentTemperature();
    const int nTokens = whisper_full_n_tokens_from_state(state_, index);
    s.tokens.reserve(nTokens);
    for (int j = 0; j < nTokens; ++j) {
        whisper_token_data d = whisper_full_get_token_data_from_state(state_, index, j);
        TokenRecord t;
        t.id = d.id;
        const char* bytes = whisper_token_to_str(ctx, d.id);
        t.bytes = bytes != nullptr ? bytes : "";
        t.p = d.p;
        t.plog = d.plog;
        t.pt = d.pt;
        t.ptsum = d.ptsum;
        t.t0 = d.t0;
        t.t1 = d.t1;
        t.tDtw = d.t_dtw;
        s.tokens.push_back(std::move(t));
    }
    return s;
}

void TranscribeJob::onNewSegments(int nNew) {
    const int total = whisper_full_n_segments_from_state(state_);
    const float temperature = currentTemperature();
    if (static_cast<int>(segmentTemperatures_.size()) < total) segmentTemperatures_.resize(total, temperature);
    const int first = std::max(0, total - nNew);
    // The temperatures are recorded either way: the final result reads them.
    for (int i = first; i < total; ++i) segmentTemperatures_[i] = temperature;
    if (!streamSegments_) return;
    auto* event = new JobEvent{JobEvent::Kind::Segments, {}, 0, nullptr, {}, -1};
    event->segments.reserve(total - first);
    for (int i = first; i < total; ++i) event->segments.push_back(readSegment(i));
    post(event);
}

void TranscribeJob::whisperNewSegment(whisper_context*, whisper_state*, int nNew, void* user) {
    static_cast<TranscribeJob*>(user)->onNewSegments(nNew);
}

void TranscribeJob::whisperProgress(whisper_context*, whisper_state*, int progress, void* user) {
    auto* job = static_cast<TranscribeJob*>(user);
    if (progress == job->lastProgress_) return;
    job->lastProgress_ = progress;
    job->post(new JobEvent{JobEvent::Kind::Progress, {}, progress, nullptr, {}, -1});
}

bool TranscribeJob::whisperEncoderBegin(whisper_context*, whisper_state*, void* user) {
    auto* job = static_cast<TranscribeJob*>(user);
    // A new 30-s window: its decoding attempts are counted from here.
    if (job->attempt_ > 0) job->fallbacks_ += job->attempt_;
    job->attempt_ = -1;
    job->lastTokenCount_ = -1;
    job->windows_++;
    return !job->aborted_.load();
}

bool TranscribeJob::whisperAbort(void* user) { return static_cast<TranscribeJob*>(user)->aborted_.load(); }

void TranscribeJob::whisperLogitsFilter(whisper_context*, whisper_state*, const whisper_token_data*, int nTokens, float*, void* user) {
    // whisper.cpp does not report which temperature a window was decoded at. Every decoding
    // attempt (one per temperature of the fallback ladder) starts its decoders from zero tokens,
    // so a drop back to zero tokens marks the next attempt.
    auto* job = static_cast<TranscribeJob*>(user);
    if (nTokens == 0 && job->lastTokenCount_ != 0) job->attempt_++;
    job->lastTokenCount_ = nTokens;
}

// whisper.cpp keeps a job's audio_ctx in the whisper_state until the next whisper_full sets it again, and our
// language detection runs before that: a reduced context left by an earlier job (a live partial pass) would make
// it look at the first seconds only. A whisper_full on 200 ms of silence that stops before the encoder sets the
// full context again (about a millisecond).
void TranscribeJob::resetAudioContext(whisper_context* ctx) {
    static const std::vector<float> silence(WHISPER_SAMPLE_RATE / 5, 0.0f);
    whisper_full_params wp = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    wp.n_threads = 1;
    wp.language = "en";
    wp.detect_language = false;
    wp.audio_ctx = 0;
    wp.print_progress = false;
    wp.print_realtime = false;
    wp.print_timestamps = false;
    wp.encoder_begin_callback = [](whisper_context*, whisper_state*, void*) { return false; };
    whisper_full_with_state(ctx, state_, wp, silence.data(), static_cast<int>(silence.size()));
    clearLastNativeError();
}

void TranscribeJob::run() {
    auto outcome = std::make_unique<JobOutcome>();
    whisper_context* ctx = model_->ctx;
    clearLastNativeError();

    std::string language = params_.language;
    // With reuse on, the encoder pass of language detection (over the same mel that whisper_full computes again)
    // also serves the first window: see native/patches/whisper-encoder-reuse.patch.
    // Reuse never reaches across jobs: an earlier job's encoding is dropped first.
    whisper_state_set_encoder_reuse(state_, false);
    whisper_state_set_encoder_reuse(state_, params_.reuseEncoder);
    const int encodesBefore = whisper_state_n_encode(state_);
    if (!whisper_is_multilingual(ctx)) {
        if (language.empty() || language == "auto") language = "en";
    } else if (language.empty() || language == "auto") {
        resetAudioContext(ctx);
        const auto started = std::chrono::steady_clock::now();
        std::vector<float> probs(whisper_lang_max_id() + 1, 0.0f);
        int langId = -1;
        // The whole input, as whisper_full converts it: the log-mel is normalised to its global maximum, so the
        // first window's mel (and so its encoding) depends on all of the audio.
        if (whisper_pcm_to_mel_with_state(ctx, state_, pcm_.data(), static_cast<int>(pcm_.size()), params_.threads) == 0) {
            langId = whisper_lang_auto_detect_with_state(ctx, state_, 0, params_.threads, probs.data());
        }
        // Restricted to the caller's candidates: the most probable of them.
        if (langId >= 0 && !params_.languageCandidates.empty()) {
            int best = -1;
            for (const std::string& code : params_.languageCandidates) {
                const int id = whisper_lang_id(code.c_str());
                if (id >= 0 && (best < 0 || probs[id] > probs[best])) best = id;
            }
            if (best >= 0) langId = best;
        }
        outcome->detectMs = msSince(started);
        if (langId < 0) {
            outcome->errorCode = "LANGUAGE_DETECTION_FAILED";
            outcome->errorMessage = "language detection failed: " + lastNativeError();
        } else {
            language = whisper_lang_str(langId);
            outcome->languageProbability = probs[langId];
            if (reportLanguage_) post(new JobEvent{JobEvent::Kind::Language, {}, 0, nullptr, language, probs[langId]});
        }
    } else if (whisper_lang_id(language.c_str()) < 0) {
        outcome->errorCode = "UNKNOWN_LANGUAGE";
        outcome->errorMessage = "unknown language: " + language;
    }

    if (outcome->errorCode.empty() && !aborted_.load()) {
        whisper_full_params wp = whisper_full_default_params(params_.beamSize > 1 ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
        wp.n_threads = params_.threads;
        wp.translate = params_.translate;
        wp.no_context = !params_.conditionOnPreviousText;
        wp.no_timestamps = params_.noTimestamps;
        wp.single_segment = params_.singleSegment;
        wp.print_special = false;
        wp.print_progress = false;
        wp.print_realtime = false;
        wp.print_timestamps = false;
        wp.token_timestamps = params_.tokenTimestamps;
        wp.max_tokens = params_.maxTokensPerSegment;
        wp.offset_ms = params_.offsetMs;
        wp.duration_ms = params_.durationMs;
        wp.audio_ctx = params_.audioCtx;
        wp.initial_prompt = params_.prompt.empty() ? nullptr : params_.prompt.c_str();
        wp.carry_initial_prompt = params_.carryPrompt;
        wp.language = language.c_str();
        wp.detect_language = false;
        wp.suppress_nst = params_.suppressNonSpeechTokens;
        wp.temperature = params_.temperature;
        wp.temperature_inc = params_.temperatureIncrement;
        wp.entropy_thold = params_.entropyThreshold;
        wp.logprob_thold = params_.logprobThreshold;
        wp.no_speech_thold = params_.noSpeechThreshold;
        wp.greedy.best_of = params_.bestOf;
        wp.beam_search.beam_size = params_.beamSize;
        wp.new_segment_callback = &TranscribeJob::whisperNewSegment;
        wp.new_segment_callback_user_data = this;
        if (reportProgress_) {
            wp.progress_callback = &TranscribeJob::whisperProgress;
            wp.progress_callback_user_data = this;
        }
        wp.encoder_begin_callback = &TranscribeJob::whisperEncoderBegin;
        wp.encoder_begin_callback_user_data = this;
        wp.abort_callback = &TranscribeJob::whisperAbort;
        wp.abort_callback_user_data = this;
        wp.logits_filter_callback = &TranscribeJob::whisperLogitsFilter;
        wp.logits_filter_callback_user_data = this;

        // Only jobs that asked for word times run the alignment pass (native/patches/whisper-word-dtw.patch).
        whisper_state_set_dtw(state_, params_.dtw);
        const auto started = std::chrono::steady_clock::now();
        const int rc = whisper_full_with_state(ctx, state_, wp, pcm_.data(), static_cast<int>(pcm_.size()));
        outcome->decodeMs = msSince(started);
        if (attempt_ > 0) fallbacks_ += attempt_;
        attempt_ = -1;
        outcome->windows = windows_;
        outcome->fallbacks = fallbacks_;
        if (!aborted_.load()) {
            if (rc != 0) {
                outcome->errorCode = "TRANSCRIPTION_FAILED";
                const std::string detail = lastNativeError();
                outcome->errorMessage = "whisper_full failed with status " + std::to_string(rc) + (detail.empty() ? "" : ": " + detail);
            } else {
                const int n = whisper_full_n_segments_from_state(state_);
                outcome->segments.reserve(n);
                for (int i = 0; i < n; ++i) outcome->segments.push_back(readSegment(i));
                const int langId = whisper_full_lang_id_from_state(state_);
                outcome->language = langId >= 0 ? whisper_lang_str(langId) : language;
            }
        }
    }
    outcome->aborted = aborted_.load();
    if (outcome->language.empty()) outcome->language = language;
    outcome->encoderPasses = whisper_state_n_encode(state_) - encodesBefore;

    pcm_.clear();
    pcm_.shrink_to_fit();
    finish(new JobEvent{JobEvent::Kind::Done, {}, 0, std::move(outcome), {}, -1});
}

void TranscribeJob::handle(Napi::Env env, const JobEvent& event) {
    switch (event.kind) {
        case JobEvent::Kind::Segments:
            if (!onSegments_.IsEmpty()) onSegments_.Call({segmentsToJs(env, event.segments)});
            break;
        case JobEvent::Kind::Progress:
            if (!onProgress_.IsEmpty()) onProgress_.Call({Napi::Number::New(env, event.progress)});
            break;
        case JobEvent::Kind::Language:
            if (!onLanguage_.IsEmpty()) onLanguage_.Call({Napi::String::New(env, event.language), Napi::Number::New(env, event.languageProbability)});
            break;
        case JobEvent::Kind::Done: {
            const JobOutcome& o = *event.outcome;
            if (o.aborted) {
                reject(env, "ABORTED", "the transcription was aborted");
            } else if (!o.errorCode.empty()) {
                reject(env, o.errorCode, o.errorMessage);
            } else {
                Napi::Object result = Napi::Object::New(env);
                result.Set("segments", segmentsToJs(env, o.segments));
                result.Set("language", o.language);
                result.Set("languageProbability", o.languageProbability);
                Napi::Object timings = Napi::Object::New(env);
                timings.Set("detectMs", o.detectMs);
                timings.Set("decodeMs", o.decodeMs);
                timings.Set("windows", o.windows);
                timings.Set("fallbacks", o.fallbacks);
                timings.Set("encoderPasses", o.encoderPasses);
                result.Set("timings", timings);
                resolve(result);
            }
            break;
        }
    }
}

}  // namespace earshot

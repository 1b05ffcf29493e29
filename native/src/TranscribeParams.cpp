#include "TranscribeParams.h"

#include <cmath>

namespace earshot {
namespace {

class Reader {
public:
    explicit Reader(const Napi::Object& object) : object_(object) {}

    void number(const char* key, float& out) {
        Napi::Value v = object_.Get(key);
        if (v.IsUndefined() || v.IsNull()) return;
        if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) fail(key, "a finite number");
        out = v.As<Napi::Number>().FloatValue();
    }

    void integer(const char* key, int& out, int min) {
        Napi::Value v = object_.Get(key);
        if (v.IsUndefined() || v.IsNull()) return;
        if (!v.IsNumber()) fail(key, "an integer");
        double d = v.As<Napi::Number>().DoubleValue();
        if (!std::isfinite(d) || std::floor(d) != d || d < min) fail(key, "an integer >= " + std::to_string(min));
        out = static_cast<int>(d);
    }

    void boolean(const char* key, bool& out) {
        Napi::Value v = object_.Get(key);
        if (v.IsUndefined() || v.IsNull()) return;
        if (!v.IsBoolean()) fail(key, "a boolean");
        out = v.As<Napi::Boolean>().Value();
    }

    void string(const char* key, std::string& out) {
        Napi::Value v = object_.Get(key);
        if (v.IsUndefined() || v.IsNull()) return;
        if (!v.IsString()) fail(key, "a string");
        out = v.As<Napi::String>().Utf8Value();
    }

    void stringList(const char* key, std::vector<std::string>& out) {
        Napi::Value v = object_.Get(key);
        if (v.IsUndefined() || v.IsNull()) return;
        if (!v.IsArray()) fail(key, "an array of strings");
        Napi::Array array = v.As<Napi::Array>();
        for (uint32_t i = 0; i < array.Length(); ++i) {
            Napi::Value item = array.Get(i);
            if (!item.IsString()) fail(key, "an array of strings");
            out.push_back(item.As<Napi::String>().Utf8Value());
        }
    }

private:
    [[noreturn]] void fail(const char* key, const std::string& what) {
        throw Napi::TypeError::New(object_.Env(), std::string("transcribe option ") + key + " must be " + what);
    }

    Napi::Object object_;
};

}  // namespace

TranscribeParams parseTranscribeParams(const Napi::Object& options) {
    TranscribeParams p;
    Reader r(options);
    r.integer("threads", p.threads, 1);
    r.string("language", p.language);
    r.boolean("translate", p.translate);
    r.string("prompt", p.prompt);
    r.boolean("carryPrompt", p.carryPrompt);
    r.boolean("conditionOnPreviousText", p.conditionOnPreviousText);
    r.number("temperature", p.temperature);
    r.number("temperatureIncrement", p.temperatureIncrement);
    r.integer("beamSize", p.beamSize, 1);
    r.integer("bestOf", p.bestOf, 1);
    r.number("noSpeechThreshold", p.noSpeechThreshold);
    r.number("logprobThreshold", p.logprobThreshold);
    r.number("entropyThreshold", p.entropyThreshold);
    r.boolean("tokenTimestamps", p.tokenTimestamps);
    r.boolean("dtw", p.dtw);
    r.boolean("noTimestamps", p.noTimestamps);
    r.boolean("singleSegment", p.singleSegment);
    r.boolean("suppressNonSpeechTokens", p.suppressNonSpeechTokens);
    r.integer("maxTokensPerSegment", p.maxTokensPerSegment, 0);
    r.integer("offsetMs", p.offsetMs, 0);
    r.integer("durationMs", p.durationMs, 0);
    r.integer("audioCtx", p.audioCtx, 0);
    r.boolean("reuseEncoder", p.reuseEncoder);
    r.stringList("languageCandidates", p.languageCandidates);
    if (p.temperature < 0.0f || p.temperature > 1.0f) throw Napi::RangeError::New(options.Env(), "transcribe option temperature must be between 0 and 1");
    if (p.temperatureIncrement < 0.0f) throw Napi::RangeError::New(options.Env(), "transcribe option temperatureIncrement must be >= 0");
    if (p.audioCtx > 1500) throw Napi::RangeError::New(options.Env(), "transcribe option audioCtx must be at most 1500");
    if (p.beamSize > 8 || p.bestOf > 8) throw Napi::RangeError::New(options.Env(), "transcribe options beamSize and bestOf must be at most 8");
    return p;
}

}  // namespace earshot

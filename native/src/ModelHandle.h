// Owns one loaded whisper_context (weights in memory once). Shared by the JS WhisperModel
// object and by every WhisperState created from it, so the weights outlive all states.
#pragma once
#include <memory>
#include <string>

#include "whisper.h"

namespace earshot {

struct ModelHandle {
    whisper_context* ctx = nullptr;
    std::string path;

    ModelHandle(whisper_context* context, std::string modelPath) : ctx(context), path(std::move(modelPath)) {}
    ~ModelHandle() {
        if (ctx != nullptr) whisper_free(ctx);
    }
    ModelHandle(const ModelHandle&) = delete;
    ModelHandle& operator=(const ModelHandle&) = delete;
};

using ModelHandlePtr = std::shared_ptr<ModelHandle>;

}  // namespace earshot

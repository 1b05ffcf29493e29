// Owns one loaded whisper_context (weights in memory once). Shared by the JS WhisperModel
// object and by every WhisperState created from it, so the weights outlive all states.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "whisper.h"

namespace earshot {

struct ModelHandle {
    whisper_context* ctx = nullptr;
    std::string path;
    // The custom alignment heads the context's params point at (whisper.cpp reads them whenever a state is made).
    std::vector<whisper_ahead> alignmentHeads;

    ModelHandle(whisper_context* context, std::string modelPath, std::vector<whisper_ahead> heads = {})
        : ctx(context), path(std::move(modelPath)), alignmentHeads(std::move(heads)) {}
    ~ModelHandle() {
        if (ctx != nullptr) whisper_free(ctx);
    }
    ModelHandle(const ModelHandle&) = delete;
    ModelHandle& operator=(const ModelHandle&) = delete;
};

using ModelHandlePtr = std::shared_ptr<ModelHandle>;

}  // namespace earshot

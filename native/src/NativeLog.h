// Routes whisper.cpp / ggml log output: silent by default (a server must not spam stderr),
// echoed to stderr when EARSHOT_NATIVE_LOG=1, and the last error line of each thread kept so
// that a failed call can reject with whisper.cpp's own explanation.
#pragma once
#include <string>

namespace earshot {

void installLogCapture();
// The last error or warning logged on the calling thread since clearLastNativeError().
std::string lastNativeError();
void clearLastNativeError();

}  // namespace earshot

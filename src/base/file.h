// Reading whole small files (configs, rule files, certificates) with errors that name the file.
// Thread-safety: pure functions.
#ifndef KEXIN_BASE_FILE_H_
#define KEXIN_BASE_FILE_H_

#include <string>

#include "kexin/status.h"

namespace kexin {

// The file's bytes. kNotFound / kPermissionDenied / kIoError from errno; kInvalidArgument for a
// directory.
Result<std::string> ReadFile(const std::string& path);

}  // namespace kexin

#endif  // KEXIN_BASE_FILE_H_

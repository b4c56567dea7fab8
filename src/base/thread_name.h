// Names the calling thread, so `top -H`, `ps -L` and `perf` show what each of a server's threads is
// (the kernel keeps at most 15 bytes). Thread-safety: affects only the calling thread.
#ifndef KEXIN_BASE_THREAD_NAME_H_
#define KEXIN_BASE_THREAD_NAME_H_

#include <pthread.h>

namespace kexin {

// `name` is at most 15 bytes; a longer one is left unset (the call fails harmlessly).
inline void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace kexin

#endif  // KEXIN_BASE_THREAD_NAME_H_

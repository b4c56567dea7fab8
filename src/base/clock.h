// Wall-clock time in the one text form kexin writes: RFC 3339, UTC, whole seconds.
// Thread-safety: thread-safe.
#ifndef KEXIN_BASE_CLOCK_H_
#define KEXIN_BASE_CLOCK_H_

#include <ctime>
#include <string>

namespace kexin {

// "2026-11-22T03:50:00Z"
inline std::string NowRfc3339() {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace kexin

#endif  // KEXIN_BASE_CLOCK_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "kexin/status.h"
#include "tools/kexin/commands.h"

namespace kexin::cli {
namespace {
double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled && isatty(STDERR_FILENO)), start_(Now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  double elapsed = Now() - start_;
  if (elapsed < 1.0) return;
  shown_ = true;
  double frac = total ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0;
  int filled = static_cast<int>(frac * 30);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(30 - filled), ' ');
  double mbs = static_cast<double>(done) / 1e6 / elapsed;
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %.0f/%.0f MB %.0f MB/s ", label_.c_str(), bar.c_str(),
               frac * 100, static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6, mbs);
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (shown_) {
    std::fprintf(stderr, "\r\x1b[2K");
    std::fflush(stderr);
    shown_ = false;
  }
}

int Fail(const Status& s) {
  std::fprintf(stderr, "kexin: %s\n", s.ToString().c_str());
  return ExitCodeFor(s);
}

int Print(const nlohmann::json& j) { return WriteOutput("", j.dump(2) + "\n"); }

int WriteOutput(const std::string& path, const std::string& data) {
  if (path.empty() || path == "-") {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() ||
        std::fflush(stdout) != 0) {
      std::fprintf(stderr, "kexin: writing to standard output failed: %s\n", std::strerror(errno));
      return ExitCodeFor(IoError(""));
    }
    return 0;
  }
  // A device, FIFO or other non-regular target is written in place; a regular file is replaced
  // atomically (temp file in the same directory, fsync, rename).
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    Status s = fd < 0 ? ErrnoError(path, errno) : Status::Ok();
    for (size_t off = 0; s.ok() && off < data.size();) {
      ssize_t w = write(fd, data.data() + off, data.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0)
        s = IoError("cannot write " + path + ": " + std::strerror(errno));
      else
        off += static_cast<size_t>(w);
    }
    if (fd >= 0) close(fd);
    if (!s.ok()) {
      std::fprintf(stderr, "kexin: %s\n", s.ToString().c_str());
      return ExitCodeFor(IoError(""));
    }
    return 0;
  }
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Status s;
  if (fd < 0) {
    s = ErrnoError(tmp, errno);
  } else {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t w = write(fd, data.data() + off, data.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        s = ErrnoError(tmp, errno);
        break;
      }
      off += static_cast<size_t>(w);
    }
    if (s.ok() && fsync(fd) != 0) s = ErrnoError(tmp, errno);
    if (close(fd) != 0 && s.ok()) s = ErrnoError(tmp, errno);
    if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoError(path, errno);
    if (!s.ok()) unlink(tmp.c_str());
  }
  if (!s.ok()) {
    // Name the file the user asked for, not our temporary; any failure to write is an I/O error.
    std::string m = s.message();
    size_t colon = m.find(": ");
    std::string why = colon == std::string::npos ? m : m.substr(colon + 2);
    Status out = IoError("cannot write " + path + ": " + why);
    std::fprintf(stderr, "kexin: %s\n", out.ToString().c_str());
    return ExitCodeFor(out);
  }
  return 0;
}

}  // namespace kexin::cli

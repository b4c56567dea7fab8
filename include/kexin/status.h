// kexin/status.h: errors as values at every module boundary.
//
// A Status carries a small code and a message that names the file, row, field or request at fault
// ("orders.csv:1042: unbalanced quote"). Result<T> is a value or a non-OK Status. Both are
// [[nodiscard]]; use KEXIN_RETURN_IF_ERROR / KEXIN_ASSIGN_OR_RETURN to propagate them.
// The CLI maps codes to exit codes (ExitCodeFor) and the HTTP layer to statuses; see
// docs/exit-codes.md. Thread-safety: plain values, safe to copy between threads.
#ifndef KEXIN_STATUS_H_
#define KEXIN_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kexin {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,   // the caller's request or options are wrong (usage error)
  kNotFound,          // a named file, key or record does not exist
  kPermissionDenied,  // the OS or a policy refused access
  kDataError,         // input data is malformed (ragged row, unbalanced quote, bad encoding)
  kCorruption,  // stored state disagrees with itself (bad hash, bad signature); never repaired
  kIoError,     // reading or writing failed
  kResourceExhausted,   // a configured limit was hit (row too long, memory cap)
  kFailedPrecondition,  // the system is not in a state that allows the operation
  kUnimplemented,
  kInternal,  // a bug in kexin
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "data error: orders.csv:3: unbalanced quote"
  std::string ToString() const;
  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status DataError(std::string m) { return {StatusCode::kDataError, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
// An I/O failure described by errno: "orders.csv: No such file or directory" with the code
// chosen from errno (ENOENT -> kNotFound, EACCES -> kPermissionDenied, else kIoError).
Status ErrnoError(std::string_view what, int err);

// Process exit code for a status, as documented in docs/exit-codes.md.
int ExitCodeFor(const Status& s);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result from OK status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace kexin

#define KEXIN_CONCAT_INNER_(a, b) a##b
#define KEXIN_CONCAT_(a, b) KEXIN_CONCAT_INNER_(a, b)

#define KEXIN_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::kexin::Status kexin_status_ = (expr);        \
    if (!kexin_status_.ok()) return kexin_status_; \
  } while (0)

#define KEXIN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define KEXIN_ASSIGN_OR_RETURN(lhs, expr) \
  KEXIN_ASSIGN_OR_RETURN_IMPL_(KEXIN_CONCAT_(kexin_result_, __LINE__), lhs, expr)

#endif  // KEXIN_STATUS_H_

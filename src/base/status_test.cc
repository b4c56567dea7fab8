#include "kexin/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace kexin {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s(StatusCode::kDataError, "orders.csv:3: unbalanced quote");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(), "orders.csv:3: unbalanced quote");
  EXPECT_EQ(s.ToString(), "data error: orders.csv:3: unbalanced quote");
}

TEST(StatusTest, ConstructorHelpersSetCodes) {
  EXPECT_EQ(InvalidArgument("m").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NotFound("m").code(), StatusCode::kNotFound);
  EXPECT_EQ(PermissionDenied("m").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(DataError("m").code(), StatusCode::kDataError);
  EXPECT_EQ(Corruption("m").code(), StatusCode::kCorruption);
  EXPECT_EQ(IoError("m").code(), StatusCode::kIoError);
  EXPECT_EQ(ResourceExhausted("m").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(FailedPrecondition("m").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Internal("m").code(), StatusCode::kInternal);
  EXPECT_EQ(NotFound("x.csv").message(), "x.csv");
}

TEST(StatusTest, CodeNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid argument");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "not found");
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission denied");
  EXPECT_EQ(StatusCodeName(StatusCode::kDataError), "data error");
  EXPECT_EQ(StatusCodeName(StatusCode::kCorruption), "corruption");
  EXPECT_EQ(StatusCodeName(StatusCode::kIoError), "I/O error");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "limit exceeded");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "failed precondition");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnimplemented), "unimplemented");
  EXPECT_EQ(StatusCodeName(StatusCode::kInternal), "internal error");
  EXPECT_EQ(StatusCodeName(static_cast<StatusCode>(999)), "unknown");
}

TEST(StatusTest, ToStringUsesCodeName) {
  EXPECT_EQ(NotFound("a.csv: No such file").ToString(), "not found: a.csv: No such file");
  EXPECT_EQ(ResourceExhausted("row too long").ToString(), "limit exceeded: row too long");
  EXPECT_EQ(IoError("disk").ToString(), "I/O error: disk");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = DataError("unbalanced quote").WithContext("orders.csv:3");
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(), "orders.csv:3: unbalanced quote");
  // Chained contexts nest outermost first.
  Status t = s.WithContext("scan");
  EXPECT_EQ(t.message(), "scan: orders.csv:3: unbalanced quote");
  // The original is unchanged.
  EXPECT_EQ(s.message(), "orders.csv:3: unbalanced quote");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::Ok().WithContext("orders.csv");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, CopyAndMove) {
  Status a = IoError("write failed");
  Status b = a;
  EXPECT_EQ(b.code(), StatusCode::kIoError);
  EXPECT_EQ(b.message(), "write failed");
  Status c = std::move(a);
  EXPECT_EQ(c.code(), StatusCode::kIoError);
  EXPECT_EQ(c.message(), "write failed");
  Status().IgnoreError();
}

TEST(ErrnoErrorTest, MapsErrnoToCodes) {
  Status nf = ErrnoError("orders.csv", ENOENT);
  EXPECT_EQ(nf.code(), StatusCode::kNotFound);
  EXPECT_EQ(nf.message(), std::string("orders.csv: ") + std::strerror(ENOENT));
  EXPECT_EQ(ErrnoError("a/b", ENOTDIR).code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoError("x", EACCES).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoError("x", EPERM).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoError("x", EISDIR).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoError("x", EIO).code(), StatusCode::kIoError);
  EXPECT_EQ(ErrnoError("x", ENOSPC).code(), StatusCode::kIoError);
}

TEST(ErrnoErrorTest, MessageNamesTheFile) {
  Status s = ErrnoError("/data/orders.csv", EACCES);
  EXPECT_EQ(s.message().rfind("/data/orders.csv: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find(std::strerror(EACCES)), std::string::npos);
}

TEST(ExitCodeForTest, DocumentedCodes) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  EXPECT_EQ(ExitCodeFor(InvalidArgument("")), 2);
  EXPECT_EQ(ExitCodeFor(NotFound("")), 3);
  EXPECT_EQ(ExitCodeFor(PermissionDenied("")), 4);
  EXPECT_EQ(ExitCodeFor(DataError("")), 5);
  EXPECT_EQ(ExitCodeFor(Corruption("")), 6);
  EXPECT_EQ(ExitCodeFor(IoError("")), 7);
  EXPECT_EQ(ExitCodeFor(ResourceExhausted("")), 8);
  EXPECT_EQ(ExitCodeFor(FailedPrecondition("")), 9);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::kUnimplemented, "")), 10);
  EXPECT_EQ(ExitCodeFor(Internal("")), 70);
  EXPECT_EQ(ExitCodeFor(Status(static_cast<StatusCode>(999), "")), 70);
}

TEST(ExitCodeForTest, DistinctForEveryNonOkCode) {
  std::vector<int> seen;
  for (int c = 1; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    int code = ExitCodeFor(Status(static_cast<StatusCode>(c), "x"));
    EXPECT_NE(code, 0) << "code " << c;
    for (int s : seen) EXPECT_NE(s, code) << "code " << c;
    seen.push_back(code);
  }
}

TEST(ResultTest, HoldsValue) {
  Result<int> r(42);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(r.status().ok());
  r.value() = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(ResultTest, HoldsError) {
  Result<int> r(NotFound("k"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "k");
}

TEST(ResultTest, OkStatusBecomesInternalError) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("OK status"), std::string::npos);
}

TEST(ResultTest, ArrowAndConstAccess) {
  Result<std::string> r(std::string("hello"));
  EXPECT_EQ(r->size(), 5u);
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr.value(), "hello");
  EXPECT_EQ(cr->substr(1), "ello");
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(5));
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, ResultOfStatusLikeValue) {
  // A Result<std::string> built from a string that looks like an error message is still a value.
  Result<std::string> r(std::string("not found: x"));
  EXPECT_TRUE(r.ok());
}

// --- Macros ---

Status FailIf(bool fail, int* calls) {
  ++*calls;
  return fail ? DataError("step failed") : Status::Ok();
}

Status TwoSteps(bool fail_first, bool fail_second, int* calls, bool* reached_end) {
  KEXIN_RETURN_IF_ERROR(FailIf(fail_first, calls));
  KEXIN_RETURN_IF_ERROR(FailIf(fail_second, calls));
  *reached_end = true;
  return Status::Ok();
}

TEST(MacroTest, ReturnIfErrorPropagatesFirstError) {
  int calls = 0;
  bool end = false;
  Status s = TwoSteps(true, false, &calls, &end);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(), "step failed");
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(end);

  calls = 0;
  s = TwoSteps(false, true, &calls, &end);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(end);

  calls = 0;
  s = TwoSteps(false, false, &calls, &end);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(end);
}

TEST(MacroTest, ReturnIfErrorEvaluatesOnce) {
  int calls = 0;
  auto f = [&]() -> Status {
    KEXIN_RETURN_IF_ERROR(FailIf(false, &calls));
    return Status::Ok();
  };
  EXPECT_TRUE(f().ok());
  EXPECT_EQ(calls, 1);
}

Result<int> Parse(const std::string& s) {
  if (s.empty()) return InvalidArgument("empty");
  return static_cast<int>(s.size());
}

Result<int> SumLengths(const std::string& a, const std::string& b) {
  KEXIN_ASSIGN_OR_RETURN(int x, Parse(a));
  KEXIN_ASSIGN_OR_RETURN(int y, Parse(b));  // two uses in one function must not clash
  return x + y;
}

Status AssignExisting(const std::string& a, int* out) {
  KEXIN_ASSIGN_OR_RETURN(*out, Parse(a));
  return Status::Ok();
}

TEST(MacroTest, AssignOrReturnUnwrapsValues) {
  Result<int> r = SumLengths("ab", "cde");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 5);
}

TEST(MacroTest, AssignOrReturnPropagatesError) {
  Result<int> r = SumLengths("ab", "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "empty");
}

TEST(MacroTest, AssignOrReturnToExistingLvalue) {
  int v = -1;
  EXPECT_TRUE(AssignExisting("xyz", &v).ok());
  EXPECT_EQ(v, 3);
  v = -1;
  Status s = AssignExisting("", &v);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v, -1);
}

Result<std::unique_ptr<int>> MakePtr(bool fail) {
  if (fail) return ResourceExhausted("no memory");
  return std::make_unique<int>(9);
}

Result<int> Deref(bool fail) {
  KEXIN_ASSIGN_OR_RETURN(std::unique_ptr<int> p, MakePtr(fail));
  return *p;
}

TEST(MacroTest, AssignOrReturnMovesMoveOnlyValues) {
  Result<int> ok = Deref(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 9);
  Result<int> bad = Deref(true);
  EXPECT_EQ(bad.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace kexin

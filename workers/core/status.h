// Status and Result<T>: how every module boundary reports failure.
//
// A Status is either OK or a domain error: an ErrorCode (the API's closed list of codes, API.md),
// a message meant for an end user (it becomes the problem+json `detail`, so it never carries
// internals), optional per-field errors (for VALIDATION_ERROR), and an optional Retry-After.
// The mapping ErrorCode -> HTTP status and title lives here, once; SQLSTATE -> ErrorCode lives in
// store/, and nothing else translates errors.
//
// Result<T> holds either a T or a non-OK Status. Both are plain values: cheap to move, safe to
// copy, usable from any thread.

#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chatd {

enum class ErrorCode {
  kOk = 0,
  kValidation,            // 400 VALIDATION_ERROR
  kUnauthenticated,       // 401 UNAUTHENTICATED
  kTokenExpired,          // 401 TOKEN_EXPIRED
  kInvalidCredentials,    // 401 INVALID_CREDENTIALS
  kTokenReused,           // 401 TOKEN_REUSED
  kForbidden,             // 403 FORBIDDEN
  kNotFound,              // 404 NOT_FOUND
  kMethodNotAllowed,      // 405 METHOD_NOT_ALLOWED
  kConflict,              // 409 CONFLICT
  kUsernameTaken,         // 409 USERNAME_TAKEN
  kPayloadTooLarge,       // 413 PAYLOAD_TOO_LARGE
  kUnsupportedMediaType,  // 415 UNSUPPORTED_MEDIA_TYPE
  kRateLimited,           // 429 RATE_LIMITED
  kQuotaExceeded,         // 429 QUOTA_EXCEEDED
  kInternal,              // 500 INTERNAL
  kLlmUnavailable,        // 502 LLM_UNAVAILABLE
  kServiceUnavailable,    // 503 SERVICE_UNAVAILABLE
  kLlmTimeout,            // 504 LLM_TIMEOUT
};

// The wire name ("VALIDATION_ERROR"), the HTTP status and the reason phrase of a code.
std::string_view ErrorCodeName(ErrorCode code);
int HttpStatusOf(ErrorCode code);
std::string_view HttpReasonPhrase(int http_status);

struct FieldError {
  std::string field;
  std::string message;
};

class Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string detail) : code_(code), detail_(std::move(detail)) {}

  static Status Ok() { return Status(); }
  // A validation failure with one entry per bad field.
  static Status Invalid(std::vector<FieldError> errors);
  static Status Invalid(std::string field, std::string message);
  static Status NotFound(std::string detail = "The requested resource was not found.");
  static Status Internal(
      std::string detail = "Something went wrong on our side. Please try again.");
  static Status Unavailable(
      std::string detail = "The service is temporarily unavailable. Please try again shortly.");

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& detail() const { return detail_; }
  const std::vector<FieldError>& field_errors() const { return field_errors_; }
  std::optional<int> retry_after_s() const { return retry_after_s_; }

  Status& WithRetryAfter(int seconds) {
    retry_after_s_ = seconds;
    return *this;
  }
  Status& AddFieldError(std::string field, std::string message) {
    field_errors_.push_back({std::move(field), std::move(message)});
    return *this;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string detail_;
  std::vector<FieldError> field_errors_;
  std::optional<int> retry_after_s_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace chatd

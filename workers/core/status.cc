// The one place where domain error codes meet HTTP: wire names, statuses and reason phrases.

#include "core/status.h"

namespace chatd {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kValidation:
      return "VALIDATION_ERROR";
    case ErrorCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    case ErrorCode::kTokenExpired:
      return "TOKEN_EXPIRED";
    case ErrorCode::kInvalidCredentials:
      return "INVALID_CREDENTIALS";
    case ErrorCode::kTokenReused:
      return "TOKEN_REUSED";
    case ErrorCode::kForbidden:
      return "FORBIDDEN";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kMethodNotAllowed:
      return "METHOD_NOT_ALLOWED";
    case ErrorCode::kConflict:
      return "CONFLICT";
    case ErrorCode::kUsernameTaken:
      return "USERNAME_TAKEN";
    case ErrorCode::kPayloadTooLarge:
      return "PAYLOAD_TOO_LARGE";
    case ErrorCode::kUnsupportedMediaType:
      return "UNSUPPORTED_MEDIA_TYPE";
    case ErrorCode::kRateLimited:
      return "RATE_LIMITED";
    case ErrorCode::kQuotaExceeded:
      return "QUOTA_EXCEEDED";
    case ErrorCode::kInternal:
      return "INTERNAL";
    case ErrorCode::kLlmUnavailable:
      return "LLM_UNAVAILABLE";
    case ErrorCode::kServiceUnavailable:
      return "SERVICE_UNAVAILABLE";
    case ErrorCode::kLlmTimeout:
      return "LLM_TIMEOUT";
  }
  return "INTERNAL";
}

int HttpStatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kValidation:
      return 400;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kTokenExpired:
    case ErrorCode::kInvalidCredentials:
    case ErrorCode::kTokenReused:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
    case ErrorCode::kUsernameTaken:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kRateLimited:
    case ErrorCode::kQuotaExceeded:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kLlmUnavailable:
      return 502;
    case ErrorCode::kServiceUnavailable:
      return 503;
    case ErrorCode::kLlmTimeout:
      return 504;
  }
  return 500;
}

std::string_view HttpReasonPhrase(int http_status) {
  switch (http_status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

Status Status::Invalid(std::vector<FieldError> errors) {
  Status s(ErrorCode::kValidation, "Some of the submitted values are not valid.");
  s.field_errors_ = std::move(errors);
  return s;
}

Status Status::Invalid(std::string field, std::string message) {
  return Invalid(std::vector<FieldError>{{std::move(field), std::move(message)}});
}

Status Status::NotFound(std::string detail) {
  return Status(ErrorCode::kNotFound, std::move(detail));
}
Status Status::Internal(std::string detail) {
  return Status(ErrorCode::kInternal, std::move(detail));
}
Status Status::Unavailable(std::string detail) {
  return Status(ErrorCode::kServiceUnavailable, std::move(detail));
}

}  // namespace chatd

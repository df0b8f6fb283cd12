// Status: how the plain C++ store reports failure. Each code maps one-to-one to an error class
// defined in TypeScript (ObjectExistsError, ...); addon.cc does that mapping and nothing else.
#pragma once

#include <string>
#include <utility>

namespace tray {

enum class StatusCode {
  kOk = 0,
  kObjectExists,
  kObjectNotFound,
  kObjectNotSealed,
  kObjectInUse,
  kObjectStoreFull,
  kOutOfDisk,
  kIoError,
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace tray

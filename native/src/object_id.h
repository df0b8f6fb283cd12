// ObjectId: the 28-byte key of the object table (Ray's ObjectID: TaskID + 4-byte return index).
// Plain bytes compared and hashed as such; TypeScript guarantees the length before C++ sees one.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

namespace tray {

constexpr size_t kObjectIdSize = 28;

struct ObjectId {
  uint8_t bytes[kObjectIdSize];

  static ObjectId FromBytes(const uint8_t* data) {
    ObjectId id;
    std::memcpy(id.bytes, data, kObjectIdSize);
    return id;
  }

  bool operator==(const ObjectId& other) const { return std::memcmp(bytes, other.bytes, kObjectIdSize) == 0; }
  bool operator!=(const ObjectId& other) const { return !(*this == other); }

  std::string Hex() const {
    static const char* digits = "0123456789abcdef";
    std::string out(kObjectIdSize * 2, '0');
    for (size_t i = 0; i < kObjectIdSize; ++i) {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    return out;
  }
};

struct ObjectIdHash {
  size_t operator()(const ObjectId& id) const {
    // FNV-1a over the bytes: ids are random-looking already, this only needs to spread them.
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < kObjectIdSize; ++i) {
      h ^= id.bytes[i];
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

}  // namespace tray

// EvictionPolicy: chooses which objects to give up when the store needs memory. The store owns
// the objects and acts on the choice (evicts a secondary copy, spills a primary one); the policy
// only keeps its own bookkeeping of candidates.
//
// Contract for an implementation:
//  - Add(id, size) is called when an object becomes a candidate (sealed, in memory, no reader);
//    Remove(id) when it stops being one (read, deleted, evicted, spilled). Remove of an id that
//    is not a candidate is a no-op. Touch(id) records a use of a candidate.
//  - ChooseVictims(bytes) returns candidates, most preferred first, whose sizes add up to at
//    least `bytes` if the candidates allow it (fewer when they do not), without removing them:
//    the store calls Remove for each one it acts on.
//  - Every method must run in O(log n) or amortised O(1) per candidate returned or touched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "object_id.h"

namespace tray {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  virtual void Add(const ObjectId& id, uint64_t size) = 0;
  virtual void Remove(const ObjectId& id) = 0;
  virtual void Touch(const ObjectId& id) = 0;
  virtual std::vector<ObjectId> ChooseVictims(uint64_t bytes) const = 0;
  virtual size_t size() const = 0;
  virtual uint64_t bytes() const = 0;
};

// The registry: policies by name ("lru" is the default and only one today).
std::unique_ptr<EvictionPolicy> MakeEvictionPolicy(const std::string& name);

}  // namespace tray

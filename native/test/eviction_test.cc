#include "check.h"
#include "eviction_policy.h"

using tray::ObjectId;

static ObjectId Id(uint8_t n) {
  uint8_t bytes[tray::kObjectIdSize] = {};
  bytes[0] = n;
  return ObjectId::FromBytes(bytes);
}

TEST(eviction, lru_order_and_touch) {
  auto policy = tray::MakeEvictionPolicy("lru");
  CHECK(policy != nullptr);
  policy->Add(Id(1), 100);
  policy->Add(Id(2), 100);
  policy->Add(Id(3), 100);
  policy->Touch(Id(1));
  auto victims = policy->ChooseVictims(150);
  CHECK_EQ(victims.size(), 2u);
  CHECK(victims[0] == Id(2));
  CHECK(victims[1] == Id(3));
  CHECK_EQ(policy->bytes(), 300u);
}

TEST(eviction, choose_does_not_remove_and_caps_at_candidates) {
  auto policy = tray::MakeEvictionPolicy("lru");
  policy->Add(Id(1), 10);
  CHECK_EQ(policy->ChooseVictims(1000).size(), 1u);
  CHECK_EQ(policy->size(), 1u);
  policy->Remove(Id(1));
  policy->Remove(Id(1));
  CHECK_EQ(policy->size(), 0u);
  CHECK_EQ(policy->bytes(), 0u);
  CHECK(policy->ChooseVictims(1).empty());
}

TEST(eviction, unknown_policy_is_null) { CHECK(tray::MakeEvictionPolicy("nope") == nullptr); }

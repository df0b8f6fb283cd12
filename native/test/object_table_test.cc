#include "check.h"
#include "object_table.h"

using tray::ObjectId;

TEST(object_table, insert_find_erase) {
  tray::ObjectTable table;
  uint8_t bytes[tray::kObjectIdSize] = {};
  for (int i = 0; i < 1000; ++i) {
    bytes[27] = static_cast<uint8_t>(i);
    bytes[26] = static_cast<uint8_t>(i >> 8);
    auto* entry = table.Insert(ObjectId::FromBytes(bytes));
    CHECK(entry != nullptr);
    entry->data_size = static_cast<uint64_t>(i);
  }
  CHECK_EQ(table.size(), 1000u);
  bytes[26] = 0;
  bytes[27] = 7;
  CHECK(table.Insert(ObjectId::FromBytes(bytes)) == nullptr);
  CHECK_EQ(table.Find(ObjectId::FromBytes(bytes))->data_size, 7u);
  table.Erase(ObjectId::FromBytes(bytes));
  CHECK(table.Find(ObjectId::FromBytes(bytes)) == nullptr);
  CHECK_EQ(table.size(), 999u);
}

TEST(object_table, ids_differing_in_last_byte_are_distinct) {
  uint8_t a[tray::kObjectIdSize] = {};
  uint8_t b[tray::kObjectIdSize] = {};
  b[27] = 1;
  CHECK(ObjectId::FromBytes(a) != ObjectId::FromBytes(b));
  CHECK_EQ(ObjectId::FromBytes(b).Hex().size(), 56u);
}

// Element types and devices of tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common/bf16.h"

namespace signet {

using kernels::bf16;

// f32 for all kernels, f64 for references and gradchecks, i64 for labels and indices,
// u8 for frames, bf16 for storage.
enum class DType : uint8_t { f32, f64, i64, u8, bf16 };

// Bytes per element of a dtype.
size_t dtype_size(DType t);
// Short name of a dtype ("f32", ...).
const char* dtype_name(DType t);
// True for f32, f64 and bf16.
bool is_floating(DType t);

// Maps a C++ element type to its DType.
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct dtype_of<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <>
struct dtype_of<bf16> {
  static constexpr DType value = DType::bf16;
};

// Where a tensor's storage lives: the CPU or CUDA device `index`.
struct Device {
  enum class Type : uint8_t { cpu, cuda };
  Type type = Type::cpu;
  int index = 0;

  static Device cpu() { return {Type::cpu, 0}; }
  static Device cuda(int i = 0) { return {Type::cuda, i}; }
  bool is_cpu() const { return type == Type::cpu; }
  // "cpu" or "cuda:i".
  std::string str() const;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

}  // namespace signet

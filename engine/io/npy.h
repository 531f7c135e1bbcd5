// NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written, 2.0 when the header
// needs it): little-endian f32 ('<f4'), f64 ('<f8'), i64 ('<i8') and u8 ('|u1') in C order.
#pragma once
#include <string>

#include "engine/tensor.h"

namespace signet::io {

// Reads a .npy file into a new contiguous CPU tensor; throws signet::Error naming the file
// and the problem (bad magic, unsupported dtype or order, truncated data, ...).
Tensor read_npy(const std::string& path);
// Writes t (any layout, CPU) as a C-order .npy via a temporary file renamed into place;
// bf16 has no NumPy dtype and is refused.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace signet::io

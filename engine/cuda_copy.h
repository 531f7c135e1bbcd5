// Copies between the cpu and a cuda device (the device-local part runs the dispatch's copy).
#pragma once

namespace signet {

class Tensor;

// dst = src (broadcast to dst's shape, converted to its dtype) where one of them is on cuda and
// the other on the cpu: conversions and layouts are handled on the cpu side of the transfer.
void copy_across_devices(const Tensor& dst, const Tensor& src);

}  // namespace signet

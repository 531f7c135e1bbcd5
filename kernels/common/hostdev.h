// SIGNET_HD marks scalar code shared by host and device (__host__ __device__ under nvcc).
#pragma once
#if defined(__CUDACC__)
#define SIGNET_HD __host__ __device__ __forceinline__
#else
#define SIGNET_HD inline
#endif

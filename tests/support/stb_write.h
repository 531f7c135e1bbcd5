// stb_image_write for tests that write PNG, JPEG and BMP files, when its header is installed
// (SIGNET_TEST_HAVE_STB_WRITE is then 1; the implementation is compiled once, in stb_write.cpp).
#pragma once
#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>
#define SIGNET_TEST_HAVE_STB_WRITE 1
#endif

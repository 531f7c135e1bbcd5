// The one implementation of stb_image_write shared by the tests (see stb_write.h).
#if __has_include(<stb/stb_image_write.h>)
#define STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#include "tests/support/stb_write.h"

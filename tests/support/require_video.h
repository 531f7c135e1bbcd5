// REQUIRE_VIDEO(): skips the current test when signet_media was built without FFmpeg.
#pragma once
#include <gtest/gtest.h>

#include "tools/media/video_writer.h"

#define REQUIRE_VIDEO() \
  if (!::signet::media::video_support()) GTEST_SKIP() << "signet_media built without FFmpeg"

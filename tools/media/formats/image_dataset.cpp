#include "tools/media/formats/image_dataset.h"

#include <cstring>

#include "engine/ops/elementwise.h"
#include "engine/shape.h"
#include "tools/media/image_reader.h"

namespace signet::media {

Tensor read_image_tensor(const std::string& path, const ImageOptions& options) {
  Image image = read_image(path, options.channels);
  if (options.size > 0 && (image.width != options.size || image.height != options.size))
    image = resize_image(image, options.size, options.size);
  Tensor out = empty({image.height, image.width, image.channels}, DType::u8);
  std::memcpy(out.data<uint8_t>(), image.pixels.data(), image.pixels.size());
  return out;
}

ImageDataset::ImageDataset(const std::vector<LabelledVideo>& files, const ImageOptions& options) {
  for (const LabelledVideo& f : files) {
    try {
      Tensor image = read_image_tensor(f.path, options);
      // Without resizing, every image must have the first one's size to form batches.
      if (!images_.empty() && image.shape() != images_.front().shape()) {
        skipped_.push_back(
            {f.path, "size " + shape_str(image.shape()) + " differs from the first image's " +
                         shape_str(images_.front().shape()) + " (set a size to resize)"});
        continue;
      }
      images_.push_back(image);
      labels_.push_back(f.label);
    } catch (const std::exception& e) {
      skipped_.push_back({f.path, e.what()});
    }
  }
  report_skipped("ImageDataset", skipped_, files.size());
  SIGNET_CHECK(!images_.empty(), "ImageDataset: no usable image among ", files.size(), " files (",
               skipped_.size(), " skipped)");
}

data::Sample ImageDataset::get(int64_t i) const {
  const Tensor& image = images_[static_cast<size_t>(i)];
  return {image.permute({2, 0, 1}).to(DType::f32) * (1.0 / 255.0), labels_[static_cast<size_t>(i)]};
}

}  // namespace signet::media

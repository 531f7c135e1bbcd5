// Folder per class: root/<class>/<file>, classes in sorted folder-name order (label = index).
// Hidden files and folders (names starting with '.') are ignored; files whose extension is
// not of the kind read are skipped and counted.
#pragma once
#include <string>

#include "tools/media/formats/labelled_list.h"

namespace signet::media {

// What the files of a folder-per-class data set hold.
enum class MediaKind { video, image, features };

// True when the file name's extension (case-insensitive) is one of `kind`: video .mp4 .avi
// .mkv .mov .webm .mpg .mpeg .m4v .wmv .flv .ogv, image .png .jpg .jpeg .bmp, features .npy.
bool has_media_extension(const std::string& path, MediaKind kind);

// The kind of the files under root/<class>/: video or image, whichever occurs; throws
// signet::Error naming root when it holds neither or both.
MediaKind detect_media_kind(const std::string& root);

// The files of `kind` under root/<class>/, classes sorted, files sorted within a class.
// Throws signet::Error when root is not a folder or has no class folder.
LabelledList read_folder_per_class(const std::string& root, MediaKind kind);

}  // namespace signet::media

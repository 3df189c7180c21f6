"""The one IO boundary: every artifact is read and written here, nowhere else.

Core modules take and return in-memory objects; stage scripts call these functions. Writes are atomic
(a temporary file renamed into place), so a killed stage never leaves a half-written artifact that a
later stage would trust. The modules: `artifacts` (read/write a `stylecluster.catalog` entry),
`files` (tables, JSON, matrices, text, figures, jieba's cache folder), `exports` (posts exports as delivered), `images`
(decode and write images, checked masks), `folders` (the importer's folder transaction), `cache`
(the content-addressed embedding cache). Everything is re-exported here, so
callers write `storage.read_table(...)`.
"""

from stylecluster.storage.artifacts import read_artifact, write_artifact
from stylecluster.storage.exports import (ENCODINGS_AUTO, RAW_POSTS_NAMES, Export, find_raw_posts,
                                          read_export, read_posts_file)
from stylecluster.storage.files import (atomic_path, file_sha256, jieba_cache_dir, read_bytes,
                                        read_csv, read_json, read_matrix, read_params, read_table,
                                        read_text, remove_tree, write_bytes, write_csv,
                                        write_figure, write_figures, write_json, write_matrix,
                                        write_table, write_text)
from stylecluster.storage.folders import (PROJECT_MARKERS, folder_transaction, place_images,
                                          resolve_images)
from stylecluster.storage.images import (MAX_SIDE, ImageReader, MaskFiles, _to_rgb, encode_image,
                                         image_status, read_image, write_encoded, write_image)

__all__ = [
    "ENCODINGS_AUTO", "ImageReader", "MAX_SIDE", "MaskFiles", "PROJECT_MARKERS", "RAW_POSTS_NAMES", "Export", "_to_rgb",
    "atomic_path", "encode_image", "file_sha256", "find_raw_posts", "folder_transaction", "image_status", "jieba_cache_dir",
    "place_images", "read_artifact", "read_bytes", "read_csv", "read_export", "read_image", "read_json", "read_matrix",
    "read_params", "read_posts_file", "read_table", "read_text", "remove_tree", "resolve_images",
    "write_artifact", "write_bytes", "write_csv", "write_encoded", "write_figure", "write_figures", "write_image", "write_json", "write_matrix",
    "write_table", "write_text",
]

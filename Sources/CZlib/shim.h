// zlib: gzip decompression of IDX files and CRC-32 checksums of model shards.
#include <zlib.h>

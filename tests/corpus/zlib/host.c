/*
 * Corpus program: a zlib round trip (tests/common/corpus.rs builds it with
 * the zlib sources bundled in the `libz-sys` crate, for wasm32-wasi and
 * x86-64). Compresses a deterministic buffer of a few KB with deflate, in
 * three segments that give a dynamic-Huffman block, a stored block and a
 * fixed-Huffman block, then decompresses it with inflate() a few bytes at a
 * time. The output chunks are shorter than inflate_fast's minimum, so every
 * literal, length and distance goes through inflate()'s
 * `switch (state->mode)`, which runs thousands of times. Prints one line and
 * exits 0 when the round trip is exact. Deterministic by construction.
 */
#include <stdio.h>
#include <string.h>

#include "zlib.h"

#define DATA_SIZE 6000
/* Compressed bytes handed to inflate() per call. */
#define IN_CHUNK 13
/* Room given to inflate() per call: below the 258 bytes inflate_fast needs. */
#define OUT_CHUNK 97

static unsigned char data[DATA_SIZE];
static unsigned char packed[DATA_SIZE + 1024];
static unsigned char unpacked[DATA_SIZE];

/* Words drawn by a fixed linear congruential generator, with a run of
 * pseudo-random bytes in the middle: repetitive enough for long matches,
 * varied enough for real Huffman tables. */
static void fill(unsigned char *buf, unsigned size) {
  static const char *const words[] = {
      "switch ", "case ",  "break; ", "state ",   "mode ",  "inflate ",
      "window ", "bits ",  "hold ",   "length ",  "dist ",  "copy ",
      "table ",  "code ",  "\n",      "literal ", "match ", "header ",
  };
  const unsigned nwords = sizeof words / sizeof words[0];
  unsigned seed = 12345u;
  unsigned pos = 0;
  while (pos < size) {
    seed = seed * 1103515245u + 12345u;
    if (pos >= size / 3 && pos < size / 3 + 300) {
      buf[pos++] = (unsigned char)(seed >> 16);
      continue;
    }
    const char *word = words[(seed >> 16) % nwords];
    for (size_t i = 0; word[i] != '\0' && pos < size; i++)
      buf[pos++] = (unsigned char)word[i];
  }
}

/* Deflates `in` into `out` in three segments (level 6, stored, fixed
 * Huffman); returns the compressed size, or 0 on error. */
static unsigned compress_segments(const unsigned char *in, unsigned in_size,
                                  unsigned char *out, unsigned out_size) {
  z_stream strm;
  memset(&strm, 0, sizeof strm);
  if (deflateInit(&strm, 6) != Z_OK)
    return 0;
  strm.next_out = out;
  strm.avail_out = out_size;
  const unsigned cut1 = in_size / 2, cut2 = in_size / 2 + 700;
  const unsigned starts[3] = {0, cut1, cut2};
  const unsigned ends[3] = {cut1, cut2, in_size};
  const int levels[3] = {6, 0, 6};
  const int strategies[3] = {Z_DEFAULT_STRATEGY, Z_DEFAULT_STRATEGY, Z_FIXED};
  for (int seg = 0; seg < 3; seg++) {
    if (seg > 0 && deflateParams(&strm, levels[seg], strategies[seg]) != Z_OK)
      return 0;
    strm.next_in = (unsigned char *)in + starts[seg];
    strm.avail_in = ends[seg] - starts[seg];
    int flush = seg < 2 ? Z_FULL_FLUSH : Z_FINISH;
    int ret = deflate(&strm, flush);
    if (ret != (seg < 2 ? Z_OK : Z_STREAM_END) || strm.avail_in != 0)
      return 0;
  }
  unsigned size = (unsigned)strm.total_out;
  deflateEnd(&strm);
  return size;
}

/* Inflates `in` into `out` IN_CHUNK bytes in and OUT_CHUNK bytes out at a
 * time; returns the decompressed size (or 0 on error) and counts the calls
 * in `*calls`. */
static unsigned decompress_chunked(const unsigned char *in, unsigned in_size,
                                   unsigned char *out, unsigned out_size,
                                   unsigned *calls) {
  z_stream strm;
  memset(&strm, 0, sizeof strm);
  if (inflateInit(&strm) != Z_OK)
    return 0;
  unsigned in_pos = 0, out_pos = 0;
  int ret = Z_OK;
  *calls = 0;
  while (ret != Z_STREAM_END) {
    if (strm.avail_in == 0) {
      unsigned n = in_size - in_pos < IN_CHUNK ? in_size - in_pos : IN_CHUNK;
      strm.next_in = (unsigned char *)in + in_pos;
      strm.avail_in = n;
      in_pos += n;
    }
    unsigned room = out_size - out_pos < OUT_CHUNK ? out_size - out_pos : OUT_CHUNK;
    strm.next_out = out + out_pos;
    strm.avail_out = room;
    ret = inflate(&strm, Z_NO_FLUSH);
    (*calls)++;
    out_pos += room - strm.avail_out;
    if (ret != Z_OK && ret != Z_STREAM_END) {
      fprintf(stderr, "zlib: inflate returned %d (%s)\n", ret,
              strm.msg ? strm.msg : "no message");
      inflateEnd(&strm);
      return 0;
    }
  }
  inflateEnd(&strm);
  return out_pos;
}

int main(void) {
  fill(data, DATA_SIZE);
  unsigned packed_size = compress_segments(data, DATA_SIZE, packed, sizeof packed);
  if (packed_size == 0) {
    fputs("zlib: deflate failed\n", stderr);
    return 1;
  }
  unsigned calls = 0;
  unsigned size = decompress_chunked(packed, packed_size, unpacked, DATA_SIZE, &calls);
  if (size != DATA_SIZE || memcmp(data, unpacked, DATA_SIZE) != 0) {
    fputs("zlib: round trip mismatch\n", stderr);
    return 1;
  }
  unsigned long crc = crc32(0L, unpacked, size);
  unsigned long adler = adler32(1L, packed, packed_size);
  printf("checksum=%08lx adler=%08lx size=%u compressed=%u inflate_calls=%u\n",
         crc, adler, size, packed_size, calls);
  return 0;
}

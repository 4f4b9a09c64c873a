/*
 * Corpus program: a bzip2 round trip (tests/common/corpus.rs builds it with
 * the bzip2 1.0.8 sources bundled in the `bzip2-sys` crate, with
 * BZ_NO_STDIO as that crate builds them, for wasm32-wasi and x86-64).
 * Compresses a deterministic buffer of a few KB with
 * BZ2_bzBuffToBuffCompress, then decompresses it with the stream API a few
 * bytes at a time, so BZ2_decompress's `switch (s->state)` resumes at many
 * of its cases (each GET_BITS is one) over hundreds of calls. Prints one
 * line and exits 0 when the round trip is exact. Deterministic by
 * construction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzlib.h"

#define DATA_SIZE 6000
/* Compressed bytes handed to BZ2_bzDecompress per call. */
#define IN_CHUNK 7
/* Room given to BZ2_bzDecompress per call. */
#define OUT_CHUNK 61

static char data[DATA_SIZE];
static char packed[DATA_SIZE + DATA_SIZE / 100 + 600];
static char unpacked[DATA_SIZE];

/* With BZ_NO_STDIO the library reports a failed internal consistency check
 * here instead of printing it. */
void bz_internal_error(int errcode) {
  fprintf(stderr, "bzip2: internal error %d\n", errcode);
  exit(3);
}

/* Words drawn by a fixed linear congruential generator, with a run of
 * pseudo-random bytes and a long run of one byte (bzip2's initial
 * run-length encoding) in the middle. */
static void fill(char *buf, unsigned size) {
  static const char *const words[] = {
      "switch ",  "case ",   "state ",  "decompress ", "block ", "huffman ",
      "selector ", "mtf ",   "bwt ",    "origPtr ",    "crc ",   "coding ",
      "group ",   "tables ", "\n",      "symbol ",     "run ",   "magic ",
  };
  const unsigned nwords = sizeof words / sizeof words[0];
  unsigned seed = 4242u;
  unsigned pos = 0;
  while (pos < size) {
    seed = seed * 1103515245u + 12345u;
    if (pos >= size / 3 && pos < size / 3 + 300) {
      buf[pos++] = (char)(seed >> 16);
      continue;
    }
    if (pos >= size / 2 && pos < size / 2 + 200) {
      buf[pos++] = 'z';
      continue;
    }
    const char *word = words[(seed >> 16) % nwords];
    for (size_t i = 0; word[i] != '\0' && pos < size; i++)
      buf[pos++] = word[i];
  }
}

/* Decompresses `in` into `out` IN_CHUNK bytes in and OUT_CHUNK bytes out at a
 * time; returns the decompressed size (or 0 on error) and counts the calls
 * in `*calls`. */
static unsigned decompress_chunked(char *in, unsigned in_size, char *out,
                                   unsigned out_size, unsigned *calls) {
  bz_stream strm;
  memset(&strm, 0, sizeof strm);
  if (BZ2_bzDecompressInit(&strm, 0, 0) != BZ_OK)
    return 0;
  unsigned in_pos = 0, out_pos = 0;
  int ret = BZ_OK;
  *calls = 0;
  while (ret != BZ_STREAM_END) {
    if (strm.avail_in == 0) {
      unsigned n = in_size - in_pos < IN_CHUNK ? in_size - in_pos : IN_CHUNK;
      if (n == 0) {
        fputs("bzip2: compressed data ended early\n", stderr);
        BZ2_bzDecompressEnd(&strm);
        return 0;
      }
      strm.next_in = in + in_pos;
      strm.avail_in = n;
      in_pos += n;
    }
    unsigned room = out_size - out_pos < OUT_CHUNK ? out_size - out_pos : OUT_CHUNK;
    strm.next_out = out + out_pos;
    strm.avail_out = room;
    ret = BZ2_bzDecompress(&strm);
    (*calls)++;
    out_pos += room - strm.avail_out;
    if (ret != BZ_OK && ret != BZ_STREAM_END) {
      fprintf(stderr, "bzip2: BZ2_bzDecompress returned %d\n", ret);
      BZ2_bzDecompressEnd(&strm);
      return 0;
    }
  }
  BZ2_bzDecompressEnd(&strm);
  return out_pos;
}

/* CRC-32 (the reflected 0xEDB88320 polynomial) of the round-tripped data. */
static unsigned crc32_of(const char *buf, unsigned size) {
  unsigned crc = 0xffffffffu;
  for (unsigned i = 0; i < size; i++) {
    crc ^= (unsigned char)buf[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

int main(void) {
  fill(data, DATA_SIZE);
  unsigned packed_size = sizeof packed;
  int ret = BZ2_bzBuffToBuffCompress(packed, &packed_size, data, DATA_SIZE,
                                     /*blockSize100k=*/1, /*verbosity=*/0,
                                     /*workFactor=*/30);
  if (ret != BZ_OK) {
    fprintf(stderr, "bzip2: BZ2_bzBuffToBuffCompress returned %d\n", ret);
    return 1;
  }
  unsigned calls = 0;
  unsigned size = decompress_chunked(packed, packed_size, unpacked, DATA_SIZE, &calls);
  if (size != DATA_SIZE || memcmp(data, unpacked, DATA_SIZE) != 0) {
    fputs("bzip2: round trip mismatch\n", stderr);
    return 1;
  }
  /* A hash of the compressed stream: compression is deterministic too. */
  unsigned packed_sum = 0;
  for (unsigned i = 0; i < packed_size; i++)
    packed_sum = packed_sum * 31u + (unsigned char)packed[i];
  printf("checksum=%08x packed_sum=%08x size=%u compressed=%u decompress_calls=%u\n",
         crc32_of(unpacked, size), packed_sum, size, packed_size, calls);
  return 0;
}

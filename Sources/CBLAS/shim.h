// OpenBLAS's CBLAS interface plus its extensions (openblas_get_corename, openblas_set_num_threads).
// The include path comes from `pkg-config --cflags openblas`.
#include <cblas.h>

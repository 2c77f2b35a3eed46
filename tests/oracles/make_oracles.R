# Oracle fixtures for the xinli_screen scoring engine, computed with R psych::scoreItems.
#
# Run from the repository root (/work/main):
#   Rscript tests/oracles/make_oracles.R [path/to/bfi.csv]
# The data path defaults to ../shared/data/psych_bfi/bfi.csv relative to the repository root
# (the root is found from this script's location, so the current directory does not matter).
#
# Produced with: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9, GPArotation 2022.10.2
# (Debian packages r-base-core, r-cran-psych, r-cran-gparotation); run on 2026-11-29.
# Input: bfi.csv, sha256 bd121f22bf9cc1c9cfede86f476a47140fe13e49efbb023f3d1169491790697a
# (psychTools 2.5.3 `bfi`, 2800 x 28 plus the SAPA row id; see ../shared/data/psych_bfi/SOURCE.md).
#
# The bfi data are GPL (psychTools): only derived scale scores are written here, never the items.
#
# Outputs (in the directory of this script):
#   bfi_scoreitems_mean_impute_none.csv   scoreItems(keys, items, min=1, max=6,
#                                         impute="none", totals=FALSE)$scores
#       = per scale, mean of the answered keyed items (rowMeans(na.rm = TRUE) after reversing the
#         keyed items as max + min - x = 7 - x); NA when no item of the scale is answered.
#   bfi_scoreitems_sum_impute_none.csv    scoreItems(..., impute="none", totals=TRUE)$scores
#       = per scale, SUM of the answered keyed items (rowSums(na.rm = TRUE)): not prorated, and
#         0 (not NA) when no item of the scale is answered. psych itself warns "Specifying
#         totals = TRUE without imputation can lead to serious problems". Only the rows where the
#         scale is complete are comparable with a 'sum' scale of xinli_screen; the n_<scale>
#         columns (answered items per scale) are written so that a test can select them.
# Numbers are written with sprintf("%.17g"), which round-trips every double exactly; missing = "".

suppressPackageStartupMessages(library(psych))

script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
script_dir <- if (length(script_arg)) {
  dirname(normalizePath(sub("^--file=", "", script_arg[1])))
} else {
  file.path(getwd(), "tests", "oracles")
}
repo_root <- normalizePath(file.path(script_dir, "..", ".."))
args <- commandArgs(trailingOnly = TRUE)
data_path <- if (length(args) >= 1) {
  args[1]
} else {
  file.path(repo_root, "..", "shared", "data", "psych_bfi", "bfi.csv")
}
if (!file.exists(data_path)) stop("bfi.csv not found: ", data_path)

bfi <- read.csv(data_path, colClasses = c(id = "character"), na.strings = "")
item_names <- c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), paste0("N", 1:5),
                paste0("O", 1:5))
stopifnot(nrow(bfi) == 2800, all(item_names %in% names(bfi)), !anyDuplicated(bfi$id))
items <- as.matrix(bfi[, item_names])
stopifnot(all(items %in% c(1:6, NA)))

# Keys as published with psychTools (bfi.keys): A1, C4, C5, E1, E2, O2, O5 reversed.
keys_list <- list(
  agree         = c("-A1", "A2", "A3", "A4", "A5"),
  conscientious = c("C1", "C2", "C3", "-C4", "-C5"),
  extraversion  = c("-E1", "-E2", "E3", "E4", "E5"),
  neuroticism   = c("N1", "N2", "N3", "N4", "N5"),
  openness      = c("O1", "-O2", "O3", "O4", "-O5")
)
# Cross-check against the keys file shipped next to the data, when present.
keys_csv <- file.path(dirname(data_path), "bfi_keys.csv")
if (file.exists(keys_csv)) {
  k <- read.csv(keys_csv, stringsAsFactors = FALSE)
  from_csv <- lapply(split(k, factor(k$scale, levels = unique(k$scale))),
                     function(d) ifelse(d$sign < 0, paste0("-", d$item), d$item))
  stopifnot(identical(lapply(from_csv[names(keys_list)], unname), keys_list))
}
keys <- make.keys(items, keys_list)
scales <- names(keys_list)

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

write_fixture <- function(scores, file, extra = NULL) {
  stopifnot(identical(colnames(scores), scales), nrow(scores) == nrow(bfi))
  out <- data.frame(id = bfi$id, stringsAsFactors = FALSE)
  for (s in scales) out[[s]] <- fmt(scores[, s])
  if (!is.null(extra)) out <- cbind(out, extra)
  write.csv(out, file.path(script_dir, file), row.names = FALSE, quote = FALSE)
  cat("wrote", file.path(script_dir, file), "(", nrow(out), "rows )\n")
}

# 1. means, no imputation
mean_none <- scoreItems(keys, items, min = 1, max = 6, impute = "none", totals = FALSE)
write_fixture(mean_none$scores, "bfi_scoreitems_mean_impute_none.csv")

# 2. totals, no imputation (psych warns; the warning is expected and recorded above)
sum_none <- withCallingHandlers(
  scoreItems(keys, items, min = 1, max = 6, impute = "none", totals = TRUE),
  warning = function(w) {
    message("psych warning (expected): ", conditionMessage(w))
    invokeRestart("muffleWarning")
  })
n_answered <- (!is.na(items) + 0) %*% abs(keys)
colnames(n_answered) <- paste0("n_", scales)
write_fixture(sum_none$scores, "bfi_scoreitems_sum_impute_none.csv",
              extra = as.data.frame(n_answered))

# Summary for the README / log
cat("R:", R.version.string, "\npsych:", as.character(packageVersion("psych")), "\n")
cat("alpha (impute none):", sprintf("%.4f", mean_none$alpha), "\n")
cat("first three means:\n"); print(mean_none$scores[1:3, ])
cat("61759 agree:", mean_none$scores[bfi$id == "61759", "agree"], "\n")
cat("rows with an incomplete scale:", sum(rowSums(n_answered < 5) > 0),
    "; scales with no answer:", sum(n_answered == 0), "\n")

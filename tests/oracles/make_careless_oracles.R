# Oracle fixtures for xinli_screen.validity, computed with the R careless functions.
#
# Exact command used (from the repository root, /work/main):
#   Rscript tests/oracles/make_careless_oracles.R /tmp/careless_src \
#       ../shared/data/careless_simulated/careless_dataset.csv
# Arguments:
#   1. a directory holding the careless R sources (longstring.R, irv.R, mahad.R, evenodd.R,
#      psychsyn.R, psychant.R); every *.R file in it is source()d. They are NOT part of this
#      repository (see tests/oracles/README.md, "R careless oracles", for where each came from).
#   2. path to careless_dataset.csv (200 x 50). careless_dataset2.csv (1000 x 100) is read from
#      the same directory when present.
#
# Produced with: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9 (Debian r-cran-psych; mahad
# calls psych::outlier). careless: version 1.2.2 is ryentes/careless commit
# 0a84caf1a1b7cb7319fa9fd40254de525456e09c; that commit was not available to us, so the function
# sources are the stored revisions listed in the README (same code as 1.2.x for every function
# used here; the one known difference, the chi-square df of the mahad flag, is handled below).
#
# Outputs (in the directory of this script):
#   careless_oracle_dataset.csv    200 rows:  careless_dataset
#   careless_oracle_dataset2.csv  1000 rows:  careless_dataset2 (only when that file exists)
#   careless_dataset_na.csv        careless_dataset with missing values put in (input, see below)
#   careless_oracle_dataset_na.csv 200 rows:  the indices on careless_dataset_na.csv
#   careless_oracle_small.csv      hand-made rows for NA handling of longstring / avgstr / irv
# Columns: row (1-based), longstring, avgstr, irv, mahad_d2, mahad_flag_099, evenodd,
#   psychsyn_060 (resample_na = FALSE), psychsyn_060_resample (careless default resample_na = TRUE,
#   set.seed(20231001) before the call), psychsyn_060_pairs (available pairs per row), and for
#   careless_dataset2 also psychant_050, psychant_050_pairs, psychant_060.
# mahad_flag_099 = mahad D^2 > qchisq(0.99, df = ncol(x)) (chi-square with df = number of items).
# Numbers are written with sprintf("%.17g") (round-trips every double exactly); NA = "".

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript make_careless_oracles.R CARELESS_SRC_DIR careless_dataset.csv")
src_dir <- args[1]
data_path <- args[2]
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
out_dir <- if (length(script_arg)) dirname(normalizePath(sub("^--file=", "", script_arg[1]))) else
  file.path(getwd(), "tests", "oracles")

for (f in sort(list.files(src_dir, pattern = "[.]R$", full.names = TRUE))) source(f)
needed <- c("longstring", "irv", "mahad", "evenodd", "psychsyn", "psychant")
stopifnot(all(vapply(needed, exists, logical(1))))

fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", as.numeric(x)))
fmt_flag <- function(x) ifelse(is.na(x), "", ifelse(x, "TRUE", "FALSE"))

write_out <- function(df, file) {
  write.csv(df, file.path(out_dir, file), row.names = FALSE, quote = FALSE)
  cat("wrote", file.path(out_dir, file), "(", nrow(df), "rows )\n")
}

# evenodd always warns about the 1.2.1 sign change; keep the log readable
quiet_evenodd <- function(x, factors) suppressWarnings(evenodd(x, factors))

indices <- function(x, factors, label) {
  ls <- longstring(x, avg = TRUE)
  d2 <- mahad(x, plot = FALSE)
  cut <- qchisq(0.99, df = ncol(x))
  syn <- psychsyn(x, 0.60, diag = TRUE, resample_na = FALSE)
  set.seed(20231001)
  syn_rs <- psychsyn(x, 0.60)
  out <- data.frame(
    row = seq_len(nrow(x)),
    longstring = fmt(ls$longstr), avgstr = fmt(ls$avgstr),
    irv = fmt(irv(x)),
    mahad_d2 = fmt(d2), mahad_flag_099 = fmt_flag(d2 > cut),
    evenodd = fmt(quiet_evenodd(x, factors)),
    psychsyn_060 = fmt(syn$cor), psychsyn_060_resample = fmt(syn_rs),
    psychsyn_060_pairs = fmt(syn$numPairs),
    stringsAsFactors = FALSE)
  # report
  flagged_stored <- suppressWarnings(mahad(x, plot = FALSE, flag = TRUE))$flagged
  cat(sprintf("%s: mahad flagged at 0.99: %d with df = ncol(x) = %d (cut %.4f); %d with the stored",
              label, sum(d2 > cut, na.rm = TRUE), ncol(x), cut, sum(flagged_stored, na.rm = TRUE)),
      "code's df = number of rows\n")
  differ <- which(xor(is.na(syn$cor), is.na(syn_rs)) |
                  (!is.na(syn$cor) & !is.na(syn_rs) & syn$cor != syn_rs))
  cat(sprintf("%s: psychsyn rows where resample_na = TRUE changed the value: %s\n", label,
              if (length(differ)) paste(differ, collapse = ", ") else "none"))
  cat(sprintf("%s: psychsyn NA rows: %d; evenodd NA rows: %d\n", label,
              sum(is.na(syn$cor)), sum(is.na(quiet_evenodd(x, factors)))))
  out
}

# 1. careless_dataset (200 x 50, 10 scales x 5 items, no missing values)
x1 <- read.csv(data_path)
stopifnot(nrow(x1) == 200, ncol(x1) == 50, !anyNA(x1))
o1 <- indices(x1, rep(5, 10), "careless_dataset")
# psychant: careless_dataset has no negative inter-item correlation at all, so careless stops
# with "No Psychometric Antonyms found." for every critval; recorded in the README.
r1 <- cor(x1)
cat("careless_dataset: smallest inter-item r =", min(r1[lower.tri(r1)]), "\n")
cat("careless_dataset rows 1-3:\n"); print(o1[1:3, ])
write_out(o1, "careless_oracle_dataset.csv")

# 2. careless_dataset2 (1000 x 100, 10 scales x 10 items), when available
data2 <- file.path(dirname(data_path), "careless_dataset2.csv")
if (file.exists(data2)) {
  x2 <- read.csv(data2)
  stopifnot(nrow(x2) == 1000, ncol(x2) == 100, !anyNA(x2))
  o2 <- indices(x2, rep(10, 10), "careless_dataset2")
  ant50 <- psychsyn(x2, 0.50, anto = TRUE, diag = TRUE, resample_na = FALSE)
  ant60 <- psychant(x2, -0.60)  # only 2 antonym pairs: every row NA (needs > 2 pairs)
  o2$psychant_050 <- fmt(ant50$cor)
  o2$psychant_050_pairs <- fmt(ant50$numPairs)
  o2$psychant_060 <- fmt(ant60)
  set.seed(20231001)
  ant50_rs <- psychant(x2, -0.50)
  cat("careless_dataset2: psychant(.50) rows changed by resampling:",
      sum(xor(is.na(ant50$cor), is.na(ant50_rs)) |
          (!is.na(ant50$cor) & !is.na(ant50_rs) & ant50$cor != ant50_rs)), "\n")
  write_out(o2, "careless_oracle_dataset2.csv")
}

# 3. careless_dataset with missing values (deterministic): 4% of cells at random, rows 5-8
#    entirely missing (as in careless's own tests/testthat/test-mahad.R), row 10 with only
#    three answers, and row 12 with a missing item inside a run of identical answers.
xna <- x1
set.seed(20240501)
cells <- sample(length(as.matrix(xna)), round(0.04 * 200 * 50))
m <- as.matrix(xna); m[cells] <- NA
m[5:8, ] <- NA
m[10, -c(1, 2, 3)] <- NA
m[12, 1:6] <- c(3, 3, NA, 3, 3, 3)
xna <- as.data.frame(m)
write.csv(xna, file.path(out_dir, "careless_dataset_na.csv"), row.names = FALSE, na = "", quote = FALSE)
xna <- read.csv(file.path(out_dir, "careless_dataset_na.csv"))
ona <- indices(xna, rep(5, 10), "careless_dataset_na")
write_out(ona, "careless_oracle_dataset_na.csv")

# 4. small hand-made rows: NA handling of longstring/avgstr/irv
small <- rbind(c(3, 3, NA, 3, 3, 3),
               c(1, 2, 3, 4, 5, 6),
               c(2, 2, 2, 2, 2, 2),
               c(1, NA, NA, 1, 1, 2),
               c(NA, NA, NA, NA, NA, NA),
               c(5, NA, NA, NA, NA, NA),
               c(NA, 4, 4, NA, 4, 4))
ls_small <- longstring(small, avg = TRUE)
write_out(data.frame(row = seq_len(nrow(small)),
                     items = apply(small, 1, function(r) paste(ifelse(is.na(r), "NA", r), collapse = " ")),
                     longstring = fmt(ls_small$longstr), avgstr = fmt(ls_small$avgstr),
                     irv = fmt(irv(small))),
          "careless_oracle_small.csv")

cat("R:", R.version.string, "\npsych:", as.character(packageVersion("psych")), "\n")

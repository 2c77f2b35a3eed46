# Oracle fixtures for xinli_screen.reliability and xinli_screen.factor, computed with R psych
# (alpha, omega, splitHalf, KMO, cortest.bartlett, fa) and lavaan (cfa) on the bfi data.
#
# Run from anywhere:
#   Rscript tests/oracles/make_reliability_oracles.R [path/to/bfi.csv]
# The data path defaults to ../shared/data/psych_bfi/bfi.csv relative to the repository root
# (found from this script's location).
#
# Produced with: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9, GPArotation 2022.10.2,
# lavaan 0.6.14 (Debian packages r-base-core, r-cran-psych, r-cran-gparotation, r-cran-lavaan).
# Input: bfi.csv, sha256 bd121f22bf9cc1c9cfede86f476a47140fe13e49efbb023f3d1169491790697a.
# The bfi data are GPL (psychTools): only derived statistics are written here, never the items.
#
# Outputs (next to this script), long "tidy" CSVs with the columns
#   family, case, missing, statistic, row, col, value
# family   : alpha | alpha_item | omega | omega_sl | split_half | kmo | bartlett | efa | cfa
# case     : which items / keys / model (see CASES below and tests/oracles/README.md)
# missing  : pairwise (psych's use = "pairwise") or listwise (rows with any missing item of the
#            case dropped first, na.omit)
# statistic: the psych / lavaan output name (kept verbatim so a reader can find it in R)
# row, col : item or factor labels for vector / matrix outputs ("" for scalars)
# value    : sprintf("%.17g"), which round-trips every double exactly; "NA" for R's NA
#   bfi_reliability_oracles.csv   families alpha, alpha_item, omega, omega_sl, split_half
#   bfi_factor_oracles.csv        families kmo, bartlett, efa, cfa

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(lavaan)
})

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
stopifnot(nrow(bfi) == 2800, all(item_names %in% names(bfi)))
items <- bfi[, item_names]
stopifnot(all(as.matrix(items) %in% c(1:6, NA)))

# psychTools bfi.keys: reverse-keyed items (reversed as 1 + 6 - x = 7 - x)
scales <- list(
  agree         = paste0("A", 1:5),
  conscientious = paste0("C", 1:5),
  extraversion  = paste0("E", 1:5),
  neuroticism   = paste0("N", 1:5),
  openness      = paste0("O", 1:5)
)
reversed <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
# "es" = emotional stability: the neuroticism items reversed as well, so that every one of the
# 25 keyed items is positively related to a general factor (no automatic flipping needed)
reversed_es <- c(reversed, paste0("N", 1:5))
key_of <- function(cols, rev) ifelse(cols %in% rev, -1, 1)

rows <- list()
emit <- function(family, case, missing, statistic, value, row = "", col = "") {
  value <- as.numeric(unlist(value))
  stopifnot(length(value) == 1)
  rows[[length(rows) + 1]] <<- data.frame(
    family = family, case = case, missing = missing, statistic = statistic,
    row = row, col = col,
    value = ifelse(is.na(value), "NA", sprintf("%.17g", value)),
    stringsAsFactors = FALSE)
}
emit_vector <- function(family, case, missing, statistic, v, names_) {
  for (i in seq_along(v)) emit(family, case, missing, statistic, v[i], row = names_[i])
}
emit_matrix <- function(family, case, missing, statistic, m, rnames, cnames) {
  for (i in seq_len(nrow(m))) for (j in seq_len(ncol(m))) {
    emit(family, case, missing, statistic, m[i, j], row = rnames[i], col = cnames[j])
  }
}
data_for <- function(cols, missing) {
  x <- items[, cols]
  if (missing == "listwise") x <- na.omit(x)
  x
}
flush <- function(file) {
  out <- do.call(rbind, rows)
  write.csv(out, file.path(script_dir, file), row.names = FALSE, quote = TRUE)
  cat("wrote", file.path(script_dir, file), "(", nrow(out), "rows )\n")
  rows <<- list()
}

# ---------------------------------------------------------------------------------------------
# 1. psych::alpha, every bfi scale, pairwise and listwise
#    alpha(x, keys = <reversed item names>) reverses with the observed min + max of x (1 + 6 = 7,
#    checked below), i.e. the same 7 - x as the declared 1-6 range.
for (missing in c("pairwise", "listwise")) {
  for (s in names(scales)) {
    cols <- scales[[s]]
    x <- data_for(cols, missing)
    stopifnot(min(x, na.rm = TRUE) == 1, max(x, na.rm = TRUE) == 6)
    a <- alpha(x, keys = intersect(cols, reversed), warnings = FALSE)
    tot <- a$total
    for (st in names(tot)) emit("alpha", s, missing, st, tot[[st]])
    emit("alpha", s, missing, "feldt.lower", a$feldt$lower.ci)
    emit("alpha", s, missing, "feldt.upper", a$feldt$upper.ci)
    emit("alpha", s, missing, "n.obs", nrow(x))
    st <- a$item.stats
    for (v in names(st)) emit_vector("alpha_item", s, missing, v, st[[v]], cols)
    dr <- a$alpha.drop
    for (v in names(dr)) emit_vector("alpha_item", s, missing, paste0("drop.", v), dr[[v]], cols)
    rf <- a$response.freq
    for (v in colnames(rf)) emit_vector("alpha_item", s, missing, paste0("freq.", v), rf[, v], cols)
  }
}

# ---------------------------------------------------------------------------------------------
# 2. psych::omega (Schmid-Leiman, minres, oblimin, pairwise correlations), key given => no flip
omega_case <- function(case, cols, rev, nfactors, missing) {
  x <- data_for(cols, missing)
  o <- suppressWarnings(suppressMessages(
    omega(x, nfactors = nfactors, key = key_of(cols, rev), plot = FALSE)))
  emit("omega", case, missing, "omega_h", o$omega_h)
  emit("omega", case, missing, "omega.lim", o$omega.lim)
  emit("omega", case, missing, "alpha", o$alpha)
  emit("omega", case, missing, "omega.tot", o$omega.tot)
  emit("omega", case, missing, "G6", o$G6)
  emit("omega", case, missing, "ECV", o$ECV)
  emit("omega", case, missing, "nfactors", nfactors)
  emit("omega", case, missing, "n.obs", nrow(x))
  sl <- o$schmid$sl
  emit_matrix("omega_sl", case, missing, "sl", sl, cols, colnames(sl))
  if (nfactors > 1) {
    phi <- o$schmid$phi
    emit_matrix("omega_sl", case, missing, "phi", phi, colnames(phi), colnames(phi))
  }
}
for (s in names(scales)) omega_case(paste0(s, "_1f"), scales[[s]], reversed, 1, "pairwise")
omega_case("agree_1f", scales$agree, reversed, 1, "listwise")
omega_case("big5_es_5f", item_names, reversed_es, 5, "pairwise")
omega_case("big5_es_5f", item_names, reversed_es, 5, "listwise")
omega_case("big5_es_3f", item_names, reversed_es, 3, "pairwise")

# ---------------------------------------------------------------------------------------------
# 3. psych::splitHalf (correlations from pairwise covariances, cov2cor; key given)
#    For an odd number of items psych 2.2.9 enumerates only round(choose(n, n %/% 2)) / 2 of the
#    choose(n, n %/% 2) distinct splits (the first ones in lexicographic order), so its "meanr"
#    and possibly min/max are over half of the splits. "all_splits.*" are computed here
#    independently over every split (combn), 4 * C_ab / V_t on the keyed correlation matrix.
split_case <- function(case, cols, rev, missing) {
  x <- data_for(cols, missing)
  key <- key_of(cols, rev)
  sh <- splitHalf(x, key = key)
  for (st in c("maxrb", "minrb", "meanr", "av.r", "med.r", "alpha", "lambda2", "lambda6")) {
    emit("split_half", case, missing, st, sh[[st]])
  }
  n <- length(cols)
  m <- n %/% 2
  r <- cov2cor(cov(x, use = "pairwise"))
  r <- diag(key) %*% r %*% diag(key)
  combos <- combn(n, m)
  if (n %% 2 == 0) combos <- combos[, combos[1, ] == 1, drop = FALSE]  # each split once
  rab <- apply(combos, 2, function(o) {
    a <- rep(0, n); a[o] <- 1; b <- 1 - a
    4 * drop(t(a) %*% r %*% b) / sum(r)
  })
  emit("split_half", case, missing, "all_splits.n", length(rab))
  emit("split_half", case, missing, "all_splits.max", max(rab))
  emit("split_half", case, missing, "all_splits.min", min(rab))
  emit("split_half", case, missing, "all_splits.mean", mean(rab))
  emit("split_half", case, missing, "n.obs", nrow(x))
}
split_case("agree", scales$agree, reversed, "pairwise")
split_case("agree", scales$agree, reversed, "listwise")
split_case("agree_a2a5", paste0("A", 2:5), reversed, "pairwise")
split_case("agree_consc", c(scales$agree, scales$conscientious), reversed, "pairwise")
flush("bfi_reliability_oracles.csv")

# ---------------------------------------------------------------------------------------------
# 4. KMO and Bartlett on the 25 raw items (no keying; both are invariant to reversing items)
for (missing in c("pairwise", "listwise")) {
  x <- data_for(item_names, missing)
  r <- cor(x, use = "pairwise")
  k <- KMO(r)
  emit("kmo", "big5", missing, "MSA", k$MSA)
  emit_vector("kmo", "big5", missing, "MSAi", k$MSAi, item_names)
  b <- cortest.bartlett(r, n = nrow(x))
  emit("bartlett", "big5", missing, "chisq", b$chisq)
  emit("bartlett", "big5", missing, "df", b$df)
  emit("bartlett", "big5", missing, "p.value", b$p.value)
  emit("bartlett", "big5", missing, "n.obs", nrow(x))
}

# ---------------------------------------------------------------------------------------------
# 5. psych::fa on the 25 raw items (pairwise correlations, n.obs = rows)
efa_case <- function(case, nf, fm, rotate, missing) {
  x <- data_for(item_names, missing)
  f <- suppressWarnings(fa(x, nfactors = nf, fm = fm, rotate = rotate))
  L <- unclass(f$loadings)
  emit_matrix("efa", case, missing, "loadings", L, item_names, colnames(L))
  if (!is.null(f$Phi)) emit_matrix("efa", case, missing, "Phi", f$Phi, colnames(L), colnames(L))
  emit_vector("efa", case, missing, "communality", f$communality, item_names)
  emit_vector("efa", case, missing, "uniquenesses", f$uniquenesses, item_names)
  for (st in c("objective", "STATISTIC", "dof", "PVAL", "null.chisq", "null.dof", "TLI", "BIC",
               "rms", "crms", "fit", "fit.off", "chi", "n.obs")) {
    emit("efa", case, missing, st, f[[st]])
  }
  emit("efa", case, missing, "RMSEA", f$RMSEA[["RMSEA"]])
  emit("efa", case, missing, "RMSEA.lower", f$RMSEA[["lower"]])
  emit("efa", case, missing, "RMSEA.upper", f$RMSEA[["upper"]])
  emit_vector("efa", case, missing, "SS.loadings", f$Vaccounted["SS loadings", ], colnames(L))
}
efa_case("big5_minres_oblimin_5f", 5, "minres", "oblimin", "pairwise")
efa_case("big5_minres_oblimin_5f", 5, "minres", "oblimin", "listwise")
efa_case("big5_ml_varimax_5f", 5, "ml", "varimax", "pairwise")
efa_case("big5_minres_promax_5f", 5, "minres", "promax", "pairwise")
efa_case("big5_minres_none_3f", 3, "minres", "none", "pairwise")

# ---------------------------------------------------------------------------------------------
# 6. lavaan::cfa, ML, latent variances fixed to 1 (std.lv = TRUE), listwise deletion (lavaan's
#    default missing = "listwise"), raw (unkeyed) items; likelihood "normal" (sample covariance
#    with divisor N, chi-square = N * F_ML).
cfa_case <- function(case, spec) {
  cols <- unlist(spec, use.names = FALSE)
  x <- data_for(cols, "listwise")
  model <- paste(sprintf("%s =~ %s", names(spec),
                         vapply(spec, paste, "", collapse = " + ")), collapse = "\n")
  fit <- cfa(model, data = x, std.lv = TRUE, estimator = "ML")
  fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
                           "rmsea.ci.upper", "srmr", "baseline.chisq", "baseline.df", "npar",
                           "logl", "aic", "bic", "ntotal"))
  for (st in names(fm)) emit("cfa", case, "listwise", st, fm[[st]])
  pe <- parameterEstimates(fit)
  ld <- pe[pe$op == "=~", ]
  for (i in seq_len(nrow(ld))) emit("cfa", case, "listwise", "loading", ld$est[i],
                                    row = ld$rhs[i], col = ld$lhs[i])
  th <- pe[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% cols, ]
  for (i in seq_len(nrow(th))) emit("cfa", case, "listwise", "error_variance", th$est[i],
                                    row = th$lhs[i])
  ps <- pe[pe$op == "~~" & pe$lhs != pe$rhs & pe$lhs %in% names(spec), ]
  for (i in seq_len(nrow(ps))) emit("cfa", case, "listwise", "factor_correlation", ps$est[i],
                                    row = ps$lhs[i], col = ps$rhs[i])
}
cfa_case("agree_consc", scales[c("agree", "conscientious")])
cfa_case("big5", scales)
flush("bfi_factor_oracles.csv")

cat("R:", R.version.string, "\npsych:", as.character(packageVersion("psych")),
    "\nGPArotation:", as.character(packageVersion("GPArotation")),
    "\nlavaan:", as.character(packageVersion("lavaan")), "\n")

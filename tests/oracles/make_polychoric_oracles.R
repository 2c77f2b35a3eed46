# Oracles for polychoric correlations, ordinal alpha and ordinal omega (issue 14).
#
# Run from anywhere:  Rscript tests/oracles/make_polychoric_oracles.R
# Produced with: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9, GPArotation 2022.10-2
# (Debian r-base-core, r-cran-psych, r-cran-gparotation); run on 2026-12-02.
# Inputs, next to this script (simulated for these tests with numpy default_rng(20261203);
# no real respondent): 300 respondents x 6 items coded 0-3 from two correlated factors (.5),
# cut at -0.6, 0.3, 1.2:
#   ordinal_items.csv          complete answers (every item uses all 4 categories: global)
#   ordinal_items_missing.csv  5% of answers missing; o6 never answered 3 (psych then sets
#                              global = FALSE: thresholds per pair, 0.5 for empty cells)
# Output: polychoric_oracles.csv: case, statistic, row, col, value; warnings as statistic
# "warnings" with the text in `row`.
#
# Calls: polychoric(x)                 -> rho, tau   (smooth = TRUE, global = TRUE, correct = .5)
#        alpha(polychoric(x)$rho)      -> ordinal alpha (Zumbo, Gadermann & Zeisser 2007)
#        omega(x, nfactors = 2, poly = TRUE, plot = FALSE) -> omega.tot, omega_h
# psych's rho comes from optimize() (tolerance .Machine$double.eps^0.25) over cell
# probabilities from mnormt::sadmvn (absolute error 1e-6): agreement to about 1e-4 is exact.

suppressPackageStartupMessages({library(psych); library(GPArotation)})
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", script_arg)))

quietly <- function(expr) {
  caught <- character(0)
  value <- withCallingHandlers(expr,
    warning = function(w) {caught <<- c(caught, conditionMessage(w)); invokeRestart("muffleWarning")},
    message = function(m) {caught <<- c(caught, trimws(conditionMessage(m))); invokeRestart("muffleMessage")})
  list(value = value, warnings = unique(trimws(caught)))
}
num <- function(v) sprintf("%.17g", v)

rows <- list()
for (case in c("ordinal_items", "ordinal_items_missing")) {
  x <- read.csv(file.path(here, paste0(case, ".csv")))
  pc <- quietly(polychoric(x))
  rho <- pc$value$rho
  tau <- pc$value$tau
  rows[[length(rows) + 1]] <- data.frame(case = case, statistic = "rho",
    row = rep(rownames(rho), times = ncol(rho)), col = rep(colnames(rho), each = nrow(rho)),
    value = num(as.vector(rho)))
  rows[[length(rows) + 1]] <- data.frame(case = case, statistic = "tau",
    row = rep(rownames(tau), times = ncol(tau)), col = rep(colnames(tau), each = nrow(tau)),
    value = num(as.vector(tau)))
  a <- quietly(alpha(rho))
  om <- quietly(omega(x, nfactors = 2, poly = TRUE, plot = FALSE))
  rows[[length(rows) + 1]] <- data.frame(case = case,
    statistic = c("ordinal_alpha", "ordinal_alpha_raw", "ordinal_G6", "ordinal_average_r",
                  "omega.tot", "omega_h"),
    row = "", col = "",
    value = num(c(a$value$total$std.alpha, a$value$total$raw_alpha, a$value$total$`G6(smc)`,
                  a$value$total$average_r, om$value$omega.tot, om$value$omega_h)))
  for (w in c(pc$warnings, om$warnings))
    rows[[length(rows) + 1]] <- data.frame(case = case, statistic = "warnings", row = w,
                                           col = "", value = "")
}
out <- do.call(rbind, rows)
write.csv(out, file.path(here, "polychoric_oracles.csv"), row.names = FALSE)
print(out[out$statistic != "rho" & out$statistic != "tau", ])

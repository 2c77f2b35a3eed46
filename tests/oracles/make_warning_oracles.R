# Oracles for the cases where R psych warns (issue 14, point 7).
#
# Run from anywhere:  Rscript tests/oracles/make_warning_oracles.R
# Produced with: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9, GPArotation 2022.10-2
# (Debian r-base-core, r-cran-psych, r-cran-gparotation); run on 2026-12-02.
# Inputs, next to this script (simulated for these tests with numpy; no real respondent):
#   small_n_items.csv  8 respondents x 10 items coded 0-3 (default_rng(20261202), one factor):
#                      fewer respondents than items.
#   heywood_items.csv  500 respondents x 9 items coded 0-4 (default_rng(11)), three group
#                      factors whose correlations (.8, .8, .35) no single second-order factor
#                      can reproduce: the higher-order loading exceeds 1.
# Output: warning_oracles.csv (case, statistic, value, warnings = R's warnings joined by " | ").
#
# n < k: the correlation matrix has rank <= n - 1. psych::alpha takes G6 from smc(R), and
# psych::smc inverts with psych::Pinv (SVD; singular values below sqrt(.Machine$double.eps)
# times the largest are dropped): G6 stays below 1, where a plain inverse gives SMCs of 1 and
# G6 = 1. The G6 of cor.smooth(R) (what psych::fa and omega use on such a matrix) is recorded
# too; the two agree to 1e-12.

suppressPackageStartupMessages({library(psych); library(GPArotation)})
script_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", script_arg)))

quietly <- function(expr) {
  caught <- character(0)
  value <- withCallingHandlers(expr,
    warning = function(w) {caught <<- c(caught, conditionMessage(w)); invokeRestart("muffleWarning")},
    message = function(m) {caught <<- c(caught, trimws(conditionMessage(m))); invokeRestart("muffleMessage")})
  list(value = value, warnings = paste(unique(trimws(caught)), collapse = " | "))
}
row <- function(case, statistic, value, warnings = "")
  data.frame(case = case, statistic = statistic, value = sprintf("%.17g", value), warnings = warnings)

x <- read.csv(file.path(here, "small_n_items.csv"))
a <- quietly(alpha(x, warnings = TRUE))
R <- cor(x)
sm <- suppressWarnings(cor.smooth(R))
sh <- quietly(splitHalf(x))
h <- read.csv(file.path(here, "heywood_items.csv"))
om <- quietly(omega(h, nfactors = 3, plot = FALSE))

out <- rbind(
  row("small_n", "raw_alpha", a$value$total$raw_alpha, a$warnings),
  row("small_n", "std.alpha", a$value$total$std.alpha),
  row("small_n", "G6(smc)", a$value$total$`G6(smc)`),
  row("small_n", "G6_cor.smooth", 1 - (ncol(x) - sum(smc(sm))) / sum(sm)),
  row("small_n", "min_eigen_R", min(eigen(R)$values)),
  row("small_n", "splitHalf_max", sh$value$maxrb, sh$warnings),
  row("small_n", "splitHalf_min", sh$value$minrb),
  row("small_n", "splitHalf_mean", sh$value$meanr),
  row("heywood", "omega.tot", om$value$omega.tot, om$warnings),
  row("heywood", "omega_h", om$value$omega_h),
  row("heywood", "max_abs_gloading", max(abs(om$value$schmid$gloading))))
write.csv(out, file.path(here, "warning_oracles.csv"), row.names = FALSE)
print(out)

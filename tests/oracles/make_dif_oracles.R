# DIF oracle (issue 16.3): lordif's three ordinal logistic models, fitted by rms::lrm (the
# engine lordif uses; lordif itself is not in Debian), on lordif's Anxiety data
# (../shared/data/lordif_promis_anxiety/Anxiety.csv, GPL: only derived numbers are kept).
#
# Matching variable: the observed total score of the 29 items (one pass, no purification),
# since lordif's IRT trait estimate needs mirt. Sparse categories are collapsed as lordif's
# collapse(resp, group, minCell = 5). Statistics as lordif's runolr(): LR chi-square 1v2,
# 1v3, 2v3 (deviance differences, unrounded) and pseudo R^2 changes (unrounded).
#
# Run (R 4.2, rms 6.5-0, Debian r-cran-rms):
#   Rscript tests/oracles/make_dif_oracles.R ../shared/data/lordif_promis_anxiety/Anxiety.csv \
#       tests/oracles/dif_anxiety_lrm.csv
suppressMessages(library(rms))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
items <- paste0("R", 1:29)
theta <- rowSums(d[, items])
collapse <- function(resp, group, minCell) {
  tab <- table(group, resp)
  original <- sort(unique(resp))
  suff <- apply(tab >= minCell, 2, prod)
  modified <- cumsum(suff)
  modified[modified == 0] <- 1
  modified[match(resp, original)]
}
out <- list()
for (g in c("age", "gender")) {
  gr <- as.factor(d[[g]])
  n <- nrow(d)
  for (it in items) {
    y <- collapse(d[[it]], gr, 5)
    m1 <- lrm(y ~ theta); m2 <- lrm(y ~ theta + gr); m3 <- lrm(y ~ theta * gr)
    d0 <- m1$deviance[1]; d1 <- m1$deviance[2]; d2 <- m2$deviance[2]; d3 <- m3$deviance[2]
    cs <- function(dv) 1 - exp((dv - d0) / n)
    nk <- function(dv) cs(dv) / (1 - exp(-d0 / n))
    mf <- function(dv) 1 - dv / d0
    out[[length(out) + 1]] <- data.frame(
      group = g, item = it, ncat = length(unique(y)), null_deviance = d0,
      deviance1 = d1, deviance2 = d2, deviance3 = d3,
      chi12 = d1 - d2, chi13 = d1 - d3, chi23 = d2 - d3,
      p12 = 1 - pchisq(d1 - d2, 1), p13 = 1 - pchisq(d1 - d3, 2), p23 = 1 - pchisq(d2 - d3, 1),
      beta12 = abs((coef(m2)[["theta"]] - coef(m1)[["theta"]]) / coef(m1)[["theta"]]),
      r2_mcfadden_12 = mf(d2) - mf(d1), r2_mcfadden_13 = mf(d3) - mf(d1),
      r2_mcfadden_23 = mf(d3) - mf(d2),
      r2_nagelkerke_12 = nk(d2) - nk(d1), r2_nagelkerke_13 = nk(d3) - nk(d1),
      r2_nagelkerke_23 = nk(d3) - nk(d2),
      r2_coxsnell_12 = cs(d2) - cs(d1), r2_coxsnell_13 = cs(d3) - cs(d1),
      r2_coxsnell_23 = cs(d3) - cs(d2))
  }
}
res <- do.call(rbind, out)
write.csv(res, args[2], row.names = FALSE)
cat(sprintf("R %s, rms %s: %d rows\n", getRversion(), packageVersion("rms"), nrow(res)))

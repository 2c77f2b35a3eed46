# Oracles for xinli_screen.evaluation (issue 16): 2x2 accuracy figures (epiR), ROC/AUC with the
# DeLong CI and optimal cut-offs (pROC), Begg-Greenes verification-bias correction (hand
# formulas of Begg & Greenes 1983 / Zhou 1994, and PVBcorrect::acc_bg when its source is given).
#
# Usage, from the repository root:
#   Rscript tests/oracles/make_accuracy_oracles.R [SHARED_DATA_DIR] [PVBcorrect_functions.R]
# SHARED_DATA_DIR defaults to ../shared/data. Writes next to this script:
#   nhanes_accuracy.csv   derived NHANES 2015-2016 data (public domain, NCHS): seqn, phq9, phq2,
#                         impaired (DPQ100 >= 2), sex
#   accuracy_oracles.csv  dataset, subset, quantity, value (%.17g)
suppressPackageStartupMessages({library(pROC); library(epiR)})
args <- commandArgs(trailingOnly = TRUE)
shared <- if (length(args) >= 1) args[1] else "../shared/data"
pvb <- if (length(args) >= 2) args[2] else ""
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))

out <- list()
put <- function(dataset, subset, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(dataset = dataset, subset = subset, quantity = quantity,
                                        value = sprintf("%.17g", as.numeric(value)))
}

# ---- NHANES 2015-2016: PHQ-9 total (score) against "very/extremely difficult" (DPQ100 >= 2)
d <- read.csv(file.path(shared, "nhanes_phq9_2015_2018", "DPQ_I.csv"))
demo <- read.csv(file.path(shared, "nhanes_phq9_2015_2018", "DEMO_I.csv"))
items <- sprintf("DPQ0%d0", 1:9)
x <- d[, items]; x[x > 3] <- NA
ok <- complete.cases(x)
tot <- rowSums(x)
imp <- d$DPQ100; imp[!is.na(imp) & imp > 3] <- NA
imp[ok & tot == 0 & is.na(imp)] <- 0          # DPQ100 is skipped when every item is 0
keep <- ok & !is.na(imp)
nh <- data.frame(seqn = as.integer(d$SEQN), phq9 = as.integer(tot), phq2 = as.integer(x$DPQ010 + x$DPQ020),
                 impaired = as.integer(imp >= 2))[keep, ]
sex <- setNames(c("male", "female")[demo$RIAGENDR], as.integer(demo$SEQN))
nh$sex <- unname(sex[as.character(nh$seqn)])
write.csv(nh, file.path(here, "nhanes_accuracy.csv"), row.names = FALSE, quote = FALSE)

roc_block <- function(dataset, subset, score, crit, cut, cost) {
  r <- roc(crit, score, direction = "<", levels = c(0, 1), quiet = TRUE)
  ci <- ci.auc(r, method = "delong", conf.level = 0.95)
  put(dataset, subset, "n_cases", sum(crit == 1)); put(dataset, subset, "n_controls", sum(crit == 0))
  put(dataset, subset, "auc", as.numeric(auc(r)))
  put(dataset, subset, "auc_var_delong", var(r, method = "delong"))
  put(dataset, subset, "auc_lower", ci[1]); put(dataset, subset, "auc_upper", ci[3])
  b <- coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"),
              transpose = FALSE)
  b <- b[1, ]                      # ties: the lowest threshold (pROC lists them in order)
  put(dataset, subset, "youden_threshold_mid", b$threshold)
  put(dataset, subset, "youden_sensitivity", b$sensitivity)
  put(dataset, subset, "youden_specificity", b$specificity)
  prev <- mean(crit == 1)
  w <- coords(r, "best", best.method = "youden", best.weights = c(cost, prev),
              ret = c("threshold", "sensitivity", "specificity"), transpose = FALSE)[1, ]
  put(dataset, subset, "cost_threshold_mid", w$threshold)
  put(dataset, subset, "cost_sensitivity", w$sensitivity)
  put(dataset, subset, "cost_specificity", w$specificity)
  put(dataset, subset, "cost_weight", cost); put(dataset, subset, "cost_prevalence", prev)
  pos <- score >= cut
  tab <- as.table(matrix(c(sum(pos & crit == 1), sum(pos & crit == 0),
                           sum(!pos & crit == 1), sum(!pos & crit == 0)), nrow = 2, byrow = TRUE))
  put(dataset, subset, "cut", cut)
  put(dataset, subset, "tp", tab[1, 1]); put(dataset, subset, "fp", tab[1, 2])
  put(dataset, subset, "fn", tab[2, 1]); put(dataset, subset, "tn", tab[2, 2])
  for (m in c("wilson", "exact")) {
    e <- epi.tests(tab, method = m, conf.level = 0.95)$detail
    rownames(e) <- e$statistic
    for (s in c("se", "sp", "pv.pos", "pv.neg", "lr.pos", "lr.neg")) {
      put(dataset, subset, paste(m, s, "est", sep = "_"), e[s, "est"])
      put(dataset, subset, paste(m, s, "lower", sep = "_"), e[s, "lower"])
      put(dataset, subset, paste(m, s, "upper", sep = "_"), e[s, "upper"])
    }
  }
}
roc_block("nhanes", "all", nh$phq9, nh$impaired, 10, 5)
for (s in c("female", "male")) {
  k <- nh$sex == s
  roc_block("nhanes", s, nh$phq9[k], nh$impaired[k], 10, 5)
}
roc_block("nhanes_phq2", "all", nh$phq2, nh$impaired, 3, 5)

# ---- MPsychoR Rogers (GPL: numbers only): QIDS-SR16 total against Y-BOCS-SR total >= 24
rg <- read.csv(file.path(shared, "mpsychor_rogers_qids_ybocs", "Rogers.csv"))
q <- with(rg, pmax(onset, middle, late, hypersom) + sad +
            pmax(decappetite, incappetite, weightloss, weightgain) + concen + guilt + suicide +
            anhedonia + fatigue + pmax(retard, agitation))
yb <- rowSums(rg[, c("obtime", "obinterfer", "obdistress", "obresist", "obcontrol", "comptime",
                     "compinterf", "compdis", "compresis", "compcont")])
roc_block("rogers", "all", q, as.integer(yb >= 24), 16, 2)

# ---- Begg-Greenes: hepatic scintigraphy (Drum & Christacopoulos 1972), the worked example of
# verification-bias correction; counts as in PVBcorrect's hepatic_pvb and Zhou et al. (2011).
s1 <- 231; r1 <- 32; u1 <- 166; s0 <- 27; r0 <- 54; u0 <- 140
n1 <- s1 + r1 + u1; n0 <- s0 + r0 + u0; n <- n1 + n0
sn <- n1 * s1 / (s1 + r1) / (n1 * s1 / (s1 + r1) + n0 * s0 / (s0 + r0))
sp <- n0 * r0 / (s0 + r0) / (n1 * r1 / (s1 + r1) + n0 * r0 / (s0 + r0))
put("hepatic", "formula", "sensitivity", sn)
put("hepatic", "formula", "specificity", sp)
put("hepatic", "formula", "ppv", s1 / (s1 + r1))
put("hepatic", "formula", "npv", r0 / (s0 + r0))
put("hepatic", "formula", "se_sensitivity",
    sqrt((sn * (1 - sn))^2 * (n / (n0 * n1) + r1 / (s1 * (s1 + r1)) + r0 / (s0 * (s0 + r0)))))
put("hepatic", "formula", "se_specificity",
    sqrt((sp * (1 - sp))^2 * (n / (n0 * n1) + s1 / (r1 * (s1 + r1)) + s0 / (r0 * (s0 + r0)))))
put("hepatic", "formula", "naive_sensitivity", s1 / (s1 + s0))
put("hepatic", "formula", "naive_specificity", r0 / (r0 + r1))
if (nzchar(pvb) && file.exists(pvb)) {
  source(pvb)
  hep <- data.frame(test = rep(c(1, 1, 1, 0, 0, 0), c(s1, r1, u1, s0, r0, u0)),
                    disease = rep(c(1, 0, NA, 1, 0, NA), c(s1, r1, u1, s0, r0, u0)))
  a <- acc_bg(hep, "test", "disease", ci = TRUE, description = FALSE)$acc_results
  for (k in c("Sn", "Sp", "PPV", "NPV")) {
    put("hepatic", "PVBcorrect::acc_bg", paste0("est_", k), a[k, "Est"])
    put("hepatic", "PVBcorrect::acc_bg", paste0("se_", k), a[k, "SE"])
  }
}
res <- do.call(rbind, out)
write.csv(res, file.path(here, "accuracy_oracles.csv"), row.names = FALSE, quote = FALSE)
cat("R", R.version.string, "pROC", as.character(packageVersion("pROC")), "epiR",
    as.character(packageVersion("epiR")), "\n")

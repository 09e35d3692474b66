# R side of bench/bench_survival.c (issue 7): times survival::coxph (Efron) and
# survival::survfit on the binary files the C bench writes, and writes
# "seconds coef..." (cox) or "seconds median" (km) to the result file.
#   Rscript bench_survival.R cox x.bin t.bin e.bin n p out.txt
#   Rscript bench_survival.R km t.bin e.bin n out.txt
suppressPackageStartupMessages(library(survival))
a <- commandArgs(trailingOnly = TRUE)
if (a[1] == "cox") {
  n <- as.numeric(a[5]); p <- as.numeric(a[6])
  x <- matrix(readBin(a[2], "double", n * p), nrow = n, ncol = p)
  t <- readBin(a[3], "double", n); e <- readBin(a[4], "double", n)
  # timefix = FALSE: R would otherwise merge continuous times closer than ~1e-8
  # relative (aeqSurv); libchurn compares times exactly
  secs <- system.time(fit <- coxph(Surv(t, e) ~ x, ties = "efron",
                                   control = coxph.control(timefix = FALSE)))[["elapsed"]]
  cat(sprintf("%.17g", c(secs, coef(fit))), file = a[7], sep = "\n")
  cat(sprintf("R coxph (survival %s): %.2f s, %d iterations\n",
              packageVersion("survival"), secs, fit$iter))
} else if (a[1] == "km") {
  n <- as.numeric(a[4])
  t <- readBin(a[2], "double", n); e <- readBin(a[3], "double", n)
  secs <- system.time(fit <- survfit(Surv(t, e) ~ 1, timefix = FALSE))[["elapsed"]]
  cat(sprintf("%.17g", c(secs, unname(quantile(fit, 0.5)$quantile))), file = a[5], sep = "\n")
} else {
  stop("usage: bench_survival.R cox|km ...")
}

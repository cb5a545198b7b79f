using TimeBill.Predictors.ExecutionTime;

namespace TimeBill.Tests.ExecutionTime;

public class FitterTests
{
    private static PrefillMeasurement Pre(int n, double ms, bool heldOut = false) => new(n, ms, [ms], heldOut);
    private static DecodeStepMeasurement Step(int kv, int l, double ms, bool heldOut = false) => new(kv, l, ms, [ms], heldOut);

    private static ExecutionTimeMeasurements Synthetic(double a, double b, double c, double p1, double q1, double h, int layers)
    {
        var prefill = Enumerable.Range(0, 16).Select(i => 8 + i * 130).Select((n, i) => Pre(n, a * n * n + b * n + c, i % 4 == 2)).ToList();
        var steps = new List<DecodeStepMeasurement>();
        foreach (var (kv, i) in new[] { 1, 60, 200, 400, 700, 1000, 1500, 2047 }.Select((kv, i) => (kv, i)))
            foreach (int l in new[] { 1, 3, layers })
                steps.Add(Step(kv, l, l * (p1 * kv + q1) + h, i % 4 == 2));
        return new ExecutionTimeMeasurements(layers, prefill, steps);
    }

    [Fact]
    public void RecoversKnownCoefficientsFromNoiselessData()
    {
        const double a = 3e-5, b = 0.21, c = 1.7, p1 = 2e-4, q1 = 0.09, h = 0.8;
        const int layers = 6;
        var fit = ExecutionTimeFitter.Fit(Synthetic(a, b, c, p1, q1, h, layers));
        var k = fit.Coefficients;

        Assert.Equal(a, k.Prefill.A, 1e-12);
        Assert.Equal(b, k.Prefill.B, 1e-9);
        Assert.Equal(c, k.Prefill.C, 1e-7);
        // The full-depth line is the layered form at ℓ = L: p = L·p1, q = L·q1 + h.
        Assert.Equal(layers * p1, k.Step.P, 1e-12);
        Assert.Equal(layers * q1 + h, k.Step.Q, 1e-9);
        Assert.Equal(p1, k.LayeredStep.P1, 1e-12);
        Assert.Equal(q1, k.LayeredStep.Q1, 1e-9);
        Assert.Equal(h, k.LayeredStep.H, 1e-9);
        Assert.Equal(layers, k.LayeredStep.LayerCount);

        Assert.Equal(0, fit.Prefill.HeldOutMapePercent, 1e-6);
        Assert.Equal(1, fit.Prefill.RSquared, 1e-9);
        Assert.Equal(4, fit.Prefill.HeldOutPoints);
        Assert.Equal(12, fit.Prefill.FitPoints);
        Assert.Equal(0, fit.Step.HeldOutMapePercent, 1e-6);
        Assert.Equal(0, fit.LayeredStep.HeldOutMapePercent, 1e-6);
    }

    [Fact]
    public void ATermTheDataWantsNegativeIsPinnedAtZeroAndTheRestIsTheConstrainedOptimum()
    {
        // t = 0.5·Nx − 3 for Nx ≥ 10: unconstrained least squares says c = −3 (and a = 0).
        var m = new ExecutionTimeMeasurements(1,
            Enumerable.Range(1, 12).Select(i => Pre(10 * i, 0.5 * 10 * i - 3)).ToList(),
            [Step(10, 1, 1), Step(20, 1, 2), Step(40, 1, 3)]);
        var k = ExecutionTimeFitter.Fit(m).Coefficients;

        Assert.True(k.Prefill.A >= 0 && k.Prefill.B >= 0 && k.Prefill.C >= 0);
        Assert.Equal(0, k.Prefill.C);

        // KKT for the relative residuals the fitter minimises: zero gradient on positive terms, ≥ 0 on zero terms.
        double[] grad = new double[3];
        foreach (var pt in m.Prefill)
        {
            double n = pt.PromptLength, y = pt.Milliseconds;
            double r = (k.Prefill.Milliseconds(n) - y) / y;
            grad[0] += r * n * n / y; grad[1] += r * n / y; grad[2] += r / y;
        }
        double[] coef = [k.Prefill.A, k.Prefill.B, k.Prefill.C];
        for (int j = 0; j < 3; j++)
            if (coef[j] > 0) Assert.Equal(0, grad[j], 1e-8);
            else Assert.True(grad[j] >= -1e-8, $"gradient {j} = {grad[j]}");
    }

    [Fact]
    public void NonNegativeLeastSquaresMeetsKktOnRandomProblems()
    {
        var random = new Random(5);
        for (int t = 0; t < 200; t++)
        {
            int rows = 8, cols = 3;
            var a = new double[rows, cols];
            var y = new double[rows];
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++) a[i, j] = random.NextDouble() * 2 - 0.5;
                y[i] = random.NextDouble() * 2 - 1;
            }
            double[] x = NonNegativeLeastSquares.Solve(a, y);
            for (int j = 0; j < cols; j++)
            {
                Assert.True(x[j] >= 0);
                double g = 0;
                for (int i = 0; i < rows; i++)
                {
                    double r = -y[i];
                    for (int k = 0; k < cols; k++) r += a[i, k] * x[k];
                    g += a[i, j] * r;
                }
                if (x[j] > 0) Assert.Equal(0, g, 1e-9);
                else Assert.True(g >= -1e-9, $"case {t}: gradient {j} = {g} at a zero coefficient");
            }
        }
    }

    [Fact]
    public void HeldOutMapeIsTheMeanRelativeErrorOnPointsTheFitNeverSaw()
    {
        // Fit points lie exactly on t = 2·Nx (a = c = 0); held-out points are 10% high and 20% low.
        var prefill = new List<PrefillMeasurement>
        {
            Pre(10, 20), Pre(20, 40), Pre(30, 60), Pre(40, 80), Pre(50, 100),
            Pre(25, 50 * 1.1, heldOut: true), Pre(35, 70 * 0.8, heldOut: true),
        };
        var fit = ExecutionTimeFitter.Fit(new ExecutionTimeMeasurements(1, prefill, [Step(1, 1, 1), Step(2, 1, 2), Step(4, 1, 4)]));

        Assert.Equal(2, fit.Coefficients.Prefill.B, 1e-9);
        // |predicted − measured| / measured: |50 − 55| / 55 and |70 − 56| / 56.
        double expected = 100 * ((5.0 / 55) + (14.0 / 56)) / 2;
        Assert.Equal(expected, fit.Prefill.HeldOutMapePercent, 1e-6);
        Assert.Equal(0, fit.Prefill.FitMapePercent, 1e-6);
        Assert.Equal(2, fit.Prefill.HeldOutPoints);
    }

    [Fact]
    public void RSquaredIsOneMinusResidualOverTotalSumOfSquares()
    {
        var prefill = new List<PrefillMeasurement> { Pre(10, 11), Pre(20, 19), Pre(30, 32), Pre(40, 38), Pre(50, 52), Pre(60, 58) };
        var fit = ExecutionTimeFitter.Fit(new ExecutionTimeMeasurements(1, prefill, [Step(1, 1, 1), Step(2, 1, 2), Step(4, 1, 4)]));
        var y = prefill.Select(p => p.Milliseconds).ToArray();
        var f = prefill.Select(p => fit.Coefficients.Prefill.Milliseconds(p.PromptLength)).ToArray();
        double mean = y.Average();
        double expected = 1 - y.Zip(f).Sum(t => (t.First - t.Second) * (t.First - t.Second)) / y.Sum(v => (v - mean) * (v - mean));
        Assert.Equal(expected, fit.Prefill.RSquared, 1e-12);
        Assert.True(double.IsNaN(fit.Prefill.HeldOutMapePercent));
    }

    [Fact]
    public void TooFewPointsOrNonPositiveTimesAreRejectedClearly()
    {
        var few = new ExecutionTimeMeasurements(1, [Pre(1, 1), Pre(2, 2)], [Step(1, 1, 1), Step(2, 1, 2)]);
        Assert.Contains("prefill", Assert.Throws<ArgumentException>(() => ExecutionTimeFitter.Fit(few)).Message);
        var zero = new ExecutionTimeMeasurements(1, [Pre(1, 1), Pre(2, 0), Pre(3, 3)], [Step(1, 1, 1), Step(2, 1, 2)]);
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => ExecutionTimeFitter.Fit(zero)).Message);
    }
}

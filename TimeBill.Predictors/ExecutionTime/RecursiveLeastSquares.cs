namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Recursive least squares with exponential forgetting for a few coefficients: after each observation
/// <c>(φ, y)</c> the estimate <c>w</c> minimises <c>Σ_k λ^(n−k) (y_k − φ_kᵀ w)²</c> plus a fading prior, in constant
/// memory. The covariance's trace is capped so that directions no observation excites (every prompt of one
/// length, say) cannot wind up and make the next unusual observation throw the estimate around.
/// </summary>
internal sealed class RecursiveLeastSquares
{
    private readonly double _lambda;
    private readonly double _maxTrace;
    private readonly double[] _w;
    private readonly double[,] _p;

    public RecursiveLeastSquares(double[] initial, double forgettingFactor, double initialVariance, double maxTrace)
    {
        _lambda = forgettingFactor;
        _maxTrace = maxTrace;
        _w = (double[])initial.Clone();
        _p = new double[initial.Length, initial.Length];
        for (int i = 0; i < initial.Length; i++) _p[i, i] = initialVariance;
    }

    public IReadOnlyList<double> Estimate => _w;

    public double Predict(ReadOnlySpan<double> phi)
    {
        double s = 0;
        for (int i = 0; i < _w.Length; i++) s += phi[i] * _w[i];
        return s;
    }

    /// <summary>Folds in one observation; the innovation <c>y − φᵀw</c> is clipped to ±<paramref name="maxInnovation"/>.</summary>
    public void Update(ReadOnlySpan<double> phi, double y, double maxInnovation)
    {
        int n = _w.Length;
        Span<double> pPhi = stackalloc double[n];
        double denominator = _lambda;
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < n; j++) s += _p[i, j] * phi[j];
            pPhi[i] = s;
            denominator += phi[i] * s;
        }
        double innovation = Math.Clamp(y - Predict(phi), -maxInnovation, maxInnovation);
        for (int i = 0; i < n; i++) _w[i] += pPhi[i] / denominator * innovation;

        // P ← (P − PφφᵀP / (λ + φᵀPφ)) / λ, kept symmetric.
        double trace = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double v = (_p[i, j] - pPhi[i] * pPhi[j] / denominator) / _lambda;
                _p[i, j] = _p[j, i] = v;
                if (i == j) trace += v;
            }
        if (trace > _maxTrace)
        {
            double shrink = _maxTrace / trace;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) _p[i, j] *= shrink;
        }
    }
}

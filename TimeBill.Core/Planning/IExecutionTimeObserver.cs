namespace TimeBill.Core.Planning;

/// <summary>
/// Receives measured times from real generations so an estimator can follow a machine that gets slower or faster.
/// Times are in milliseconds; lengths use the same conventions as <see cref="IExecutionTimeEstimator"/>.
/// </summary>
public interface IExecutionTimeObserver
{
    /// <summary>A prefill of <paramref name="promptLength"/> tokens took <paramref name="milliseconds"/>.</summary>
    void ObservePrefill(int promptLength, double milliseconds);

    /// <summary>
    /// A prefill of <paramref name="promptLength"/> tokens whose first <paramref name="cachedLength"/> came from the
    /// prefix cache took <paramref name="milliseconds"/>. By default only cold prefills (nothing cached) are observed:
    /// a warm one says little about the cold curve.
    /// </summary>
    void ObservePrefill(int promptLength, int cachedLength, double milliseconds)
    {
        if (cachedLength == 0) ObservePrefill(promptLength, milliseconds);
    }

    /// <summary>
    /// A decode step that found <paramref name="kvLength"/> cached entries and ran <paramref name="layers"/> layers
    /// (<c>null</c>: all of them) took <paramref name="milliseconds"/>.
    /// </summary>
    void ObserveDecodeStep(int kvLength, int? layers, double milliseconds);
}

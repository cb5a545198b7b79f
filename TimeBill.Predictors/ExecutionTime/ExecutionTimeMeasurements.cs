namespace TimeBill.Predictors.ExecutionTime;

/// <summary>Everything a profiling run measured: the input of <see cref="ExecutionTimeFitter"/>.</summary>
/// <param name="LayerCount">The model's number of layers L; decode steps with <c>Layers == LayerCount</c> are full steps.</param>
/// <param name="Prefill">Prefill points over the prompt-length grid.</param>
/// <param name="DecodeSteps">Decode-step points over the grid of KV lengths × layer counts.</param>
/// <param name="Statistic">How each point's repetitions were reduced to its time.</param>
/// <param name="StepsPerSample">Back-to-back decode steps per repetition (a decode sample is their median step).</param>
/// <param name="PrefillQueryBlock">Queries per prefill attention block (<see cref="IProfilingTarget.PrefillQueryBlock"/>); 0: the prefill is not blocked.</param>
/// <param name="PrefillChunk">Tokens per forward call of the prefill (<see cref="IProfilingTarget.PrefillChunk"/>); 0: one call.</param>
internal sealed record ExecutionTimeMeasurements(int LayerCount, IReadOnlyList<PrefillMeasurement> Prefill, IReadOnlyList<DecodeStepMeasurement> DecodeSteps,
    SampleStatistic Statistic = SampleStatistic.Median, int StepsPerSample = 1, int PrefillQueryBlock = 0, int PrefillChunk = 0);

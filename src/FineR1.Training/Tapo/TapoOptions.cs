using FineR1.Training.Checkpointing;

namespace FineR1.Training.Tapo;

/// <summary>
/// Every knob of Stage-2 TAPO training (docs/method.md §5.7), grouped by concern. Defaults are the released Fine-R1-3B recipe
/// (<c>TAPO/examples/tapo/tapo_3b.sh</c> over <c>config_tapo.yaml</c>); <see cref="FineR1_7B"/> gives the 7B script's values.
/// Bound from configuration section <see cref="SectionName"/> and checked by <see cref="TapoOptionsValidator"/>.
/// </summary>
public sealed class TapoOptions
{
    /// <summary>Configuration section the options bind to.</summary>
    public const string SectionName = "FineR1:Tapo";

    /// <summary>Sampling of rollouts and how batches of groups are drawn.</summary>
    public TapoRolloutOptions Rollout { get; set; } = new();

    /// <summary>The loss: clipping, KL terms, entropy terms, filtering, image conditioning.</summary>
    public TapoAlgorithmOptions Algorithm { get; set; } = new();

    /// <summary>Optimiser, batch splitting, epochs.</summary>
    public TapoOptimizationOptions Optimization { get; set; } = new();

    /// <summary>Checkpoints, resume and the metrics file (off until <see cref="CheckpointingOptions.OutputDir"/> is set); a
    /// checkpoint every 20 RL steps once it is.</summary>
    public CheckpointingOptions Checkpointing { get; set; } = new() { SaveEverySteps = 20 };

    /// <summary>Data-parallel settings (ZeRO stage; the ranks come from the trainer's gradient synchronizer).</summary>
    public Distributed.DataParallelOptions DataParallel { get; set; } = new();

    /// <summary>The released Fine-R1-3B recipe (the defaults).</summary>
    public static TapoOptions FineR1_3B() => new();

    /// <summary>
    /// The released Fine-R1-7B recipe (<c>tapo_7b.sh</c>): rollout batch 192 groups, 64 prompts per draw and per optimizer
    /// step, 5 epochs. The paper says 384 / 128 for both sizes (docs/method.md §9 item 7).
    /// </summary>
    public static TapoOptions FineR1_7B()
    {
        var o = new TapoOptions();
        o.Rollout.RolloutBatchSize = 192;
        o.Rollout.PromptsPerDraw = 64;
        o.Optimization.GlobalBatchSize = 64;
        o.Optimization.Epochs = 5;
        return o;
    }
}

/// <summary>Rollout sampling and dynamic-sampling batch assembly (docs/method.md §5.3, §5.7).</summary>
public sealed class TapoRolloutOptions
{
    /// <summary>Rollouts per image (<c>worker.rollout.n</c> = 5); a group holds n anchor + n positive rollouts = 10 (paper Eq. 1: n1 = n2 = 5).</summary>
    public int N { get; set; } = 5;

    /// <summary>Sampling temperature (code and paper: 1.0); log-probs also divide logits by it.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Nucleus sampling mass (code: 0.99).</summary>
    public double TopP { get; set; } = 0.99;

    /// <summary>Top-k; −1 disables (code: −1).</summary>
    public int TopK { get; set; } = -1;

    /// <summary>Maximum new tokens per rollout (effective code value 2048: the scripts' 4096 is never passed, docs/method.md §9 item 8).</summary>
    public int MaxResponseLength { get; set; } = 2048;

    /// <summary>Maximum prompt tokens (code: 4096).</summary>
    public int MaxPromptLength { get; set; } = 4096;

    /// <summary>Groups (prompts surviving the filter) per training step (<c>data.rollout_batch_size</c>: 3B 384, 7B 192).</summary>
    public int RolloutBatchSize { get; set; } = 384;

    /// <summary>Prompts drawn per dynamic-sampling try (<c>data.mini_rollout_batch_size</c>: 3B 128, 7B 64).</summary>
    public int PromptsPerDraw { get; set; } = 128;

    /// <summary>Seed of data shuffling and sampling (code: 1).</summary>
    public int Seed { get; set; } = 1;
}

/// <summary>Which image the positive rollouts' <c>old_log_probs</c> / <c>log_probs</c> are conditioned on (docs/method.md §5.8, §9 item 1).</summary>
public enum PositiveRolloutConditioning
{
    /// <summary>The image each row was generated from (positive rollouts → x_pos). What the released code does; reproduces the checkpoints.</summary>
    GenerationImage,

    /// <summary>Always the anchor x (NoisyRollout behaviour; the paper's "update remains conditioned only on the anchor").</summary>
    Anchor,
}

/// <summary>The TAPO objective (docs/method.md §5.4, §5.5; paper §4.3 Eq. 4, App. C).</summary>
public sealed class TapoAlgorithmOptions
{
    /// <summary>ε_low of the asymmetric clip (code and paper: 0.2).</summary>
    public double ClipRatioLow { get; set; } = 0.2;

    /// <summary>ε_high of the asymmetric clip (code and paper: 0.28, DAPO "clip-higher").</summary>
    public double ClipRatioHigh { get; set; } = 0.28;

    /// <summary>Dual-clip constant for negative advantages (code default 3.0; not in the paper).</summary>
    public double ClipRatioDual { get; set; } = 3.0;

    /// <summary>Loss averaging (code <c>loss_avg_mode</c> = token, per micro-batch; the paper's Eq. 4 averages per group, docs/method.md §9 item 4).</summary>
    public LossAggregation LossAggregation { get; set; } = LossAggregation.Token;

    /// <summary>Add a KL-to-reference-model penalty (code <c>disable_kl=true</c> and paper App. C: off; paper Fig. 2 shows one, docs/method.md §9 item 5).</summary>
    public bool UseReferenceKl { get; set; }

    /// <summary>Coefficient of the reference KL when <see cref="UseReferenceKl"/> (EasyR1 default 1e-2; unused by Fine-R1).</summary>
    public double KlCoef { get; set; } = 0.01;

    /// <summary>Estimator of the reference KL (EasyR1 default low_var_kl).</summary>
    public KlPenalty KlPenalty { get; set; } = KlPenalty.LowVarKl;

    /// <summary>γ, coefficient of the inter-class KL to the negative image, which is MAXIMISED (code <c>kl_prcp_coef</c> 0.01; paper γ).</summary>
    public double KlPrcpCoef { get; set; } = 0.01;

    /// <summary>Estimator of the inter-class KL (code <c>kl_prcp_penalty</c> = low_var_kl; paper: g − log g − 1, docs/method.md §9 item 2).</summary>
    public KlPenalty KlPrcpPenalty { get; set; } = KlPenalty.LowVarKl;

    /// <summary>η2, coefficient of −mean(aug log-prob) (code 0.03); a constant in the loss (no gradient), docs/method.md §9 item 3.</summary>
    public double AugEntropyCoef { get; set; } = 0.03;

    /// <summary>η1, coefficient of −mean(log-prob) (code 0.03); lowers entropy of sampled tokens, docs/method.md §9 item 3.</summary>
    public double OriEntropyCoef { get; set; } = 0.03;

    /// <summary>ε added to a group's standard deviation in the advantage (code 1e-6).</summary>
    public double AdvantageEpsilon { get; set; } = DapoAdvantage.DefaultEpsilon;

    /// <summary>Dynamic sampling keeps groups whose mean accuracy is strictly above this (code 0.01).</summary>
    public double FilterAccuracyLow { get; set; } = 0.01;

    /// <summary>Dynamic sampling keeps groups whose mean accuracy is strictly below this (code 0.99).</summary>
    public double FilterAccuracyHigh { get; set; } = 0.99;

    /// <summary>
    /// Maximum dynamic-sampling draws per training step; −1 = unlimited (code <c>max_try_make_batch: -1</c>; the paper says
    /// "a maximum of 20 retries", docs/method.md §9 item 6).
    /// </summary>
    public int MaxDynamicSamplingTries { get; set; } = -1;

    /// <summary>Image for the positive rollouts' log-probs: code default <see cref="PositiveRolloutConditioning.GenerationImage"/>, paper option <see cref="PositiveRolloutConditioning.Anchor"/>.</summary>
    public PositiveRolloutConditioning PositiveRolloutConditioning { get; set; } = PositiveRolloutConditioning.GenerationImage;
}

/// <summary>Optimisation (docs/method.md §5.3 steps 5–6, §5.7).</summary>
public sealed class TapoOptimizationOptions
{
    /// <summary>AdamW learning rate (code and paper: 1e-6).</summary>
    public double LearningRate { get; set; } = 1e-6;

    /// <summary>AdamW decoupled weight decay (code and paper: 1e-2).</summary>
    public double WeightDecay { get; set; } = 1e-2;

    /// <summary>AdamW β1 (code 0.9).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW β2 (code 0.999).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>AdamW ε (code 1e-8).</summary>
    public double AdamEpsilon { get; set; } = 1e-8;

    /// <summary>Gradient-norm clip; steps with a non-finite norm are skipped (code 1.0).</summary>
    public double MaxGradNorm { get; set; } = 1.0;

    /// <summary>LR warmup as a fraction of training steps (code 0; constant schedule afterwards).</summary>
    public double WarmupRatio { get; set; }

    /// <summary>Prompts (groups) per optimizer step (<c>worker.actor.global_batch_size</c>: 3B 128 → 1,280 rows; 7B 64 → 640).</summary>
    public int GlobalBatchSize { get; set; } = 128;

    /// <summary>Rows per micro-batch of the update, per device (code 4); gradients are accumulated over micro-batches.</summary>
    public int MicroBatchSize { get; set; } = 4;

    /// <summary>Rows per micro-batch of the no-grad log-prob passes (code 16).</summary>
    public int LogProbMicroBatchSize { get; set; } = 16;

    /// <summary>PPO epochs over each training batch (code 1).</summary>
    public int PpoEpochs { get; set; } = 1;

    /// <summary>Nominal epochs over the data (3B 10, 7B 5).</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Recompute activations in backward to save memory (code: on).</summary>
    public bool GradientCheckpointing { get; set; } = true;

    /// <summary>
    /// Freeze the vision tower and merger (code: false, TAPO trains everything; SFT freezes them). The trainer sets
    /// <c>requires_grad</c> of every parameter from this at construction, so a model that went through
    /// <see cref="Sft.SftTrainer"/> (vision frozen there) is fully trainable again in TAPO.
    /// </summary>
    public bool FreezeVisionTower { get; set; }

    /// <summary>
    /// dtype of the AdamW states (<see cref="Optimization.TrainingOptimizer"/>). Default
    /// <see cref="Optimization.OptimizerStatePrecision.WeightDType"/>: on bf16 weights bf16 states with Kahan-compensated
    /// updates, the reference's <c>AnyPrecisionAdamW</c> (<c>strategy: adamw_bf16</c>); on float32 weights exactly
    /// <c>torch.optim.AdamW</c>. <see cref="Optimization.OptimizerStatePrecision.Float32"/> keeps float32 states (and a
    /// float32 compensation buffer) on bf16 weights: 6 bytes more per parameter, and weights ≳ 0.125 in magnitude move too.
    /// </summary>
    public Optimization.OptimizerStatePrecision OptimizerStates { get; set; } = Optimization.OptimizerStatePrecision.WeightDType;
}

using FineR1.Training.Checkpointing;

namespace FineR1.Training.Sft;

/// <summary>How a record longer than <see cref="SftOptions.MaxLength"/> is handled.</summary>
public enum SftOverlongPolicy
{
    /// <summary>Cut the sequence at <see cref="SftOptions.MaxLength"/> (the end of the assistant target is lost, as
    /// LLaMA-Factory's <c>cutoff_len</c> does for long targets). When the cut would fall inside the prompt or the
    /// image-pad block, or leave no target token, the record is rejected with a <see cref="Data.DatasetException"/>.</summary>
    Truncate,
    /// <summary>Skip the record (logged with its index).</summary>
    Drop,
    /// <summary>Reject the record with a <see cref="Data.DatasetException"/> naming its index.</summary>
    Throw,
}

/// <summary>How the token cross-entropy of an optimizer step is averaged.</summary>
public enum SftLossNormalization
{
    /// <summary>Mean over each micro-batch's supervised tokens, then the mean over the step's micro-batches: what
    /// LLaMA-Factory does for multimodal models (it turns HF Trainer's <c>num_items_in_batch</c> off when a processor is
    /// present), hence the released Fine-R1 SFT. A token of a short micro-batch weighs more than one of a long one.</summary>
    PerMicroBatch,
    /// <summary>Sum over the step's micro-batches divided by all supervised tokens of the step (HF Trainer ≥ 4.46
    /// <c>num_items_in_batch</c> for text models): every token weighs the same, accumulation equals one big batch.</summary>
    PerOptimizerStep,
}

/// <summary>Weight and optimizer-state precision.</summary>
public enum SftPrecision
{
    /// <summary>Follow the model: <see cref="BFloat16"/> when its weights are bf16 (load it so on CUDA), else <see cref="Float32"/>.</summary>
    Auto,
    /// <summary>float32 weights (AdamW with float32 states: exactly <c>torch.optim.AdamW</c>).</summary>
    Float32,
    /// <summary>bf16 weights with Kahan-compensated <see cref="Optimization.AnyPrecisionAdamW"/> updates, states in
    /// <see cref="SftOptions.OptimizerStates"/> (docs/training-precision.md).</summary>
    BFloat16,
}

/// <summary>
/// Every knob of Stage-1 chain-of-thought SFT (docs/method.md §4.3). Defaults are the released Fine-R1 recipe
/// (<c>LLaMA-Factory/cot_sft_3b.sh</c>, identical for 7B) adapted to one device: the paper's 4 GPUs × 4 sequences ×
/// 4 accumulation steps = 64 sequences per optimizer step become 4 sequences × 16 accumulation steps.
/// Bound from configuration section <see cref="SectionName"/> and checked by <see cref="SftOptionsValidator"/>.
/// </summary>
public sealed class SftOptions
{
    /// <summary>Configuration section the options bind to.</summary>
    public const string SectionName = "FineR1:Sft";

    /// <summary>Checkpoints (<c>checkpoint-{step}</c>, the last one being the final model), resume and the metrics file,
    /// all in <see cref="CheckpointingOptions.OutputDir"/>; nothing is written while it is null. Saves every 1000 steps
    /// (paper: <c>save_steps 1000</c>, i.e. never within its ~70 steps) and always at the end.</summary>
    public CheckpointingOptions Checkpointing { get; set; } = new() { SaveEverySteps = 1000 };

    /// <summary>Data-parallel settings (ZeRO stage; the ranks come from <see cref="SftTrainer.GradientSynchronizer"/>).</summary>
    public Distributed.DataParallelOptions DataParallel { get; set; } = new();

    /// <summary>Maximum tokens per sequence (paper: <c>cutoff_len 4096</c>).</summary>
    public int MaxLength { get; set; } = 4096;

    /// <summary>What to do with a longer record (default <see cref="SftOverlongPolicy.Truncate"/>, as LLaMA-Factory).</summary>
    public SftOverlongPolicy Overlong { get; set; } = SftOverlongPolicy.Truncate;

    /// <summary>Largest image area after resizing (paper, LLaMA-Factory default <c>image_max_pixels</c>: 768·768 = 589,824).</summary>
    public long ImageMaxPixels { get; set; } = 768 * 768;

    /// <summary>Smallest image area after resizing (paper, LLaMA-Factory default <c>image_min_pixels</c>: 32·32 = 1,024).</summary>
    public long ImageMinPixels { get; set; } = 32 * 32;

    /// <summary>
    /// Resize each image into [<see cref="ImageMinPixels"/>, <see cref="ImageMaxPixels"/>] before the processor, as
    /// LLaMA-Factory does (<see cref="FineR1.Core.Imaging.ImagePreScaling"/>; default on). Off hands the limits to the processor's
    /// smart_resize instead (grids can differ by a patch row or column; large images get 5–10 % fewer tokens).
    /// </summary>
    public bool PreScaleImages { get; set; } = true;

    /// <summary>
    /// Turn images upright by their EXIF orientation tag (default on, as HF's <c>load_image</c> and every image viewer:
    /// a phone photo reaches the model the way a person sees it). The reference opens files with Pillow's
    /// <c>Image.open</c>, which ignores the tag, so the two differ only on files with a non-default orientation tag;
    /// off reproduces the reference there.
    /// </summary>
    public bool ApplyExifOrientation { get; set; } = true;

    /// <summary>Sequences per forward/backward (paper: <c>per_device_train_batch_size 4</c>).</summary>
    public int MicroBatchSize { get; set; } = 4;

    /// <summary>Micro-batches per optimizer step (paper: 4 on each of 4 GPUs; one device needs 16 for the same 64 sequences).</summary>
    public int GradientAccumulationSteps { get; set; } = 16;

    /// <summary>Passes over the data (paper: 10).</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Peak learning rate (paper: 5e-6).</summary>
    public double LearningRate { get; set; } = 5e-6;

    /// <summary>Linear warm-up steps before the cosine decay (paper: <c>warmup_steps 6</c>).</summary>
    public int WarmupSteps { get; set; } = 6;

    /// <summary>Decoupled AdamW weight decay (paper: 0.1); biases and norm weights get none, as in HF Trainer.</summary>
    public double WeightDecay { get; set; } = 0.1;

    /// <summary>AdamW β1 (HF default 0.9).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW β2 (HF default 0.999).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>AdamW ε (HF default 1e-8).</summary>
    public double AdamEpsilon { get; set; } = 1e-8;

    /// <summary>Loss averaging (default <see cref="SftLossNormalization.PerMicroBatch"/>, as LLaMA-Factory for
    /// multimodal models and so the paper's SFT).</summary>
    public SftLossNormalization LossNormalization { get; set; } = SftLossNormalization.PerMicroBatch;

    /// <summary>Gradient-norm clipping (HF default <c>max_grad_norm 1.0</c>); a non-finite norm skips the step.</summary>
    public double MaxGradNorm { get; set; } = 1.0;

    /// <summary>Train the vision tower (<c>visual.patch_embed</c>, <c>visual.blocks</c>)? Paper: no (LLaMA-Factory
    /// <c>freeze_vision_tower=True</c>).</summary>
    public bool TrainVisionTower { get; set; }

    /// <summary>Train the vision-language merger (<c>visual.merger</c>)? Paper: no (<c>freeze_multi_modal_projector=True</c>).</summary>
    public bool TrainMultiModalProjector { get; set; }

    /// <summary>Train the language model? Paper: yes (<c>freeze_language_model=False</c>, full fine-tuning).</summary>
    public bool TrainLanguageModel { get; set; } = true;

    /// <summary>Weight precision (paper: bf16 with fp32 master weights under DeepSpeed ZeRO-3).</summary>
    public SftPrecision Precision { get; set; } = SftPrecision.Auto;

    /// <summary>
    /// dtype of the AdamW states (<see cref="Optimization.TrainingOptimizer"/>). Default float32: the reference SFT runs
    /// DeepSpeed ZeRO-3 in bf16, which keeps fp32 master weights and fp32 Adam states; on bf16 weights float32 states
    /// with the float32 Kahan buffer are the single-device equivalent. <see cref="Optimization.OptimizerStatePrecision.WeightDType"/>
    /// gives bf16 states on bf16 weights (TAPO's choice, 6 bytes less per parameter).
    /// </summary>
    public Optimization.OptimizerStatePrecision OptimizerStates { get; set; } = Optimization.OptimizerStatePrecision.Float32;

    /// <summary>Recompute decoder layers in backward (LLaMA-Factory default: on; exact, see
    /// docs/lora-and-checkpointing.md). Vision blocks are checkpointed too when the vision tower is trained.</summary>
    public bool GradientCheckpointing { get; set; } = true;

    /// <summary>LoRA adapters instead of full fine-tuning (paper: off, <c>finetuning_type full</c>).</summary>
    public SftLoraOptions Lora { get; set; } = new();

    /// <summary>Seed of the data order and of torch's generator (HF default 42).</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Report progress and write a metrics line every this many steps (paper: <c>logging_steps 1</c>).</summary>
    public int LoggingSteps { get; set; } = 1;
}

/// <summary>LoRA settings (off in the paper). When enabled, the trainer wraps the decoder projections with
/// <c>FineR1.Core.Modeling.Lora</c> adapters and trains only those (the Train* switches are then ignored).</summary>
public sealed class SftLoraOptions
{
    /// <summary>Train LoRA adapters instead of all weights.</summary>
    public bool Enabled { get; set; }

    /// <summary>Adapter rank (LLaMA-Factory default <c>lora_rank 8</c>).</summary>
    public int Rank { get; set; } = 8;

    /// <summary>Scaling numerator α (LLaMA-Factory default: 2 × rank = 16).</summary>
    public double Alpha { get; set; } = 16;

    /// <summary>Dropout on the adapter input (LLaMA-Factory default 0).</summary>
    public double Dropout { get; set; }

    /// <summary>Module names to adapt (LLaMA-Factory <c>lora_target all</c>: every linear layer of the language model).</summary>
    public List<string> TargetModules { get; set; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
}

"""Build the local-inference gRPC server; the model loads in the background while health says NOT_SERVING."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from bourse.inference.v1 import inference_service_pb2_grpc as pb_grpc
from prometheus_client import CollectorRegistry

from services.local_inference.config import SERVICE_NAME, InferenceConfig
from services.local_inference.core.embedding import Embedder
from services.local_inference.core.engine import EngineOptions, LocalModel
from services.local_inference.core.inference import Limits, LocalInference
from services.local_inference.core.scheduler import Scheduler, SchedulerOptions
from services.local_inference.metrics import InferenceMetrics
from services.local_inference.servicer import InferenceServicer, LoadedModels
from shared.metrics import serve_metrics
from shared.serving import ServiceServer, new_server

if TYPE_CHECKING:
    from shared.tracing import Tracing

Logger = structlog.typing.FilteringBoundLogger


async def create_server(config: InferenceConfig, logger: Logger, *, tracing: Tracing | None = None) -> ServiceServer:
    models = LoadedModels(embed_disabled=config.embed_model_dir == "off")
    registry = CollectorRegistry()
    metrics = InferenceMetrics.create(registry)
    service = new_server(
        listen=config.listen, service_names=[SERVICE_NAME], logger=logger, metrics=metrics.rpc, tracing=tracing
    )
    metrics_server = serve_metrics(registry, config.metrics_listen)
    servicer = InferenceServicer(models, metrics)
    pb_grpc.add_InferenceServiceServicer_to_server(servicer, service.server)  # type: ignore[no-untyped-call]
    loaded: list[tuple[Scheduler, LocalModel]] = []
    # Loading turns health SERVING itself; a failed load keeps serving NOT_SERVING (visible, not a crash loop).
    loader = service.loading = asyncio.get_running_loop().create_task(_load(config, models, service, loaded, logger))

    async def close() -> None:
        loader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loader
        for scheduler, model in loaded:
            await scheduler.stop()
            model.close()  # after its scheduler: no batch is in flight, and this is not a CTranslate2 thread
        if models.embedder is not None:
            models.embedder.close()
        if metrics_server is not None:
            metrics_server.shutdown()

    service.closers.append(close)
    return service


async def _load(
    config: InferenceConfig,
    models: LoadedModels,
    service: ServiceServer,
    loaded: list[tuple[Scheduler, LocalModel]],
    logger: Logger,
) -> None:
    try:
        model = await asyncio.to_thread(_load_model, config)
    except Exception as error:  # keep serving health (NOT_SERVING) so the failure is visible, not a crash loop
        logger.exception("model_load_failed", model_dir=config.model_dir or "smollm2 (default)")
        models.load_error = str(error)
        return
    scheduler = Scheduler(
        model,
        SchedulerOptions(
            max_batch_size=config.max_batch_size,
            max_wait_s=config.max_batch_wait_ms / 1000,
            max_queue=config.max_queue,
            workers=config.inter_threads,
        ),
    )
    scheduler.start()
    loaded.append((scheduler, model))
    limits = Limits(
        default_max_tokens=config.default_max_tokens,
        max_tokens_limit=config.max_tokens_limit,
        fold_system_prompt=config.fold_system_prompt,
    )
    models.inference = LocalInference(model, scheduler, limits)
    logger.info(
        "model_loaded",
        model=model.name,
        load_s=round(model.load_s, 3),
        compute_type=config.compute_type,
        inter_threads=config.inter_threads,
        intra_threads=config.intra_threads,
    )
    if not models.embed_disabled:
        started = time.perf_counter()
        try:
            models.embedder = await asyncio.to_thread(_load_embedder, config)
        except Exception as error:  # generation still works; Embed reports why it cannot
            logger.exception("encoder_load_failed", embed_model_dir=config.embed_model_dir or "minilm (default)")
            models.embed_error = str(error)
        else:
            logger.info(
                "encoder_loaded", model=models.embedder.model_name, load_s=round(time.perf_counter() - started, 3)
            )
    await service.set_serving(True)


def _load_model(config: InferenceConfig) -> LocalModel:
    if config.model_dir:
        model_dir = Path(config.model_dir)
    else:
        from services.local_inference.convert.smollm2 import ensure_smollm2

        model_dir = ensure_smollm2()
    options = EngineOptions(
        compute_type=config.compute_type, inter_threads=config.inter_threads, intra_threads=config.intra_threads
    )
    return LocalModel(model_dir, options)


def _load_embedder(config: InferenceConfig) -> Embedder:
    from shared.embedding.convert import ensure_minilm
    from shared.embedding.encoder import SentenceEncoder

    model_dir = Path(config.embed_model_dir) if config.embed_model_dir else ensure_minilm()
    return Embedder(
        SentenceEncoder(model_dir, compute_type=config.embed_compute_type, intra_threads=config.intra_threads)
    )

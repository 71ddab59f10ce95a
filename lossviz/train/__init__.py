"""Training: NetTrain, TrainingSession, the LossFunction specification, optimizers, events, results."""
from .events import StopTraining, TrainingEvent
from .gradient import loss_and_gradient
from .nettrain import NetTrain
from .session import TrainingDivergedWarning, TrainingSession, TrainingStalledWarning
from .optimizers import ADAM, RMSProp, SGD, SignSGD
from .results import NetTrainResults
from .spec import Automatic, LossSpecification, LossTerm, Scaled, resolve_loss

__all__ = [
    "NetTrain", "loss_and_gradient", "Automatic", "Scaled", "resolve_loss", "LossSpecification", "LossTerm",
    "NetTrainResults", "TrainingSession", "TrainingEvent", "StopTraining", "TrainingDivergedWarning",
    "TrainingStalledWarning",
    "ADAM", "SGD", "RMSProp", "SignSGD",
]

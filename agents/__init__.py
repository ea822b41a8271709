"""The agents a person clicks on and reads: Province, City and Function.

They hold no numbers of their own: each is a window onto one row of the model's state arrays
(`model/state.py`), so what an agent shows is always what the rules computed.
"""

from regionsim.agents.city import City
from regionsim.agents.function import Function
from regionsim.agents.province import Province

__all__ = ["City", "Function", "Province"]
